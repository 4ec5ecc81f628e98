// Preloaded (`node --import`) into every server child the bench starts: if the bench dies without
// cleaning up (SIGKILL, crash), the child notices it was re-parented and exits, so nothing lingers.
const parent = process.ppid;
setInterval(() => {
  if (process.ppid !== parent) process.exit(0);
}, 500).unref();
