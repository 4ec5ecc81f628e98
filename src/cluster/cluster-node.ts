import { Injectable } from '@nestjs/common';
import { randomId } from '../common/ids.js';

/**
 * This process as a cluster member. The id is new on every start, so a restarted node never
 * inherits (or double-counts) the state a dead predecessor left behind; that state is reaped.
 */
@Injectable()
export class ClusterNode {
  readonly id = randomId(12);
}
