// Per-process resource readings from /proc (Linux). Only the server child's own counters are used, so
// client and publisher CPU on the same 2-core machine never counts against the server.
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  /* 100 is the Linux default */
}

/** utime + stime of `pid` in microseconds (resolution 1/CLK_TCK s, usually 10 ms). */
export function cpuMicros(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name (which may contain spaces) start at field 3.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / clkTck;
}

/** Resident set size of `pid` in bytes. */
export function rssBytes(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  return match ? Number(match[1]) * 1024 : NaN;
}

/** The soft RLIMIT_NOFILE of this process (inherited by every child), or NaN if unknown. */
export function openFileLimit() {
  try {
    const limits = readFileSync('/proc/self/limits', 'utf8');
    const match = /Max open files\s+(\d+|unlimited)/.exec(limits);
    if (!match) return NaN;
    return match[1] === 'unlimited' ? Infinity : Number(match[1]);
  } catch {
    return NaN;
  }
}

/** Monotonic microseconds, comparable across processes on one machine (CLOCK_MONOTONIC). */
export const nowMicros = () => Number(process.hrtime.bigint() / 1000n);
