import type { NatsConnection } from '@geo/infra';
import {
  REACHED_SUBJECT,
  REACH_SUBJECT,
  ReachRequest,
  ReachedRequest,
  WHY_SUBJECT,
  WhyRequest,
  type ReachReply,
  type ReachedReply,
  type WhyReply,
} from '../contract.ts';
import { regionIssues } from '../geofence/validate-region.ts';
import type { Engine } from './engine.ts';
import type { CountsFor } from './reached.ts';

/**
 * Answers alerting's requests (see the README's table): reach estimates, where a task reached
 * people (those `countsFor` picks: see {@link CountsFor}), and why a number did (not) get a task,
 * each for the shards this instance holds now.
 * Returns a function that stops answering.
 */
export function answerRequests(
  nc: NatsConnection,
  engine: Engine,
  instance: string,
  myShards: () => number[],
  countsFor: CountsFor,
): () => void {
  const reachSub = nc.subscribe(REACH_SUBJECT, {
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        try {
          const req = ReachRequest.parse(msg.json());
          // The region is checked as at task submission: a self-crossing polygon has no inside to count.
          const issues = regionIssues(req.region);
          if (issues.length)
            throw new Error(
              `invalid region: ${issues
                .slice(0, 5)
                .map((i) => `${['region', ...i.path].join('.')}: ${i.message}`)
                .join('; ')}`,
            );
          // Several messages for a big region: the requester gathers them per instance.
          for (const part of await engine.reach(req, myShards())) msg.respond(JSON.stringify(part));
        } catch (e) {
          const error: ReachReply = {
            v: 1,
            instance,
            shards: myShards(),
            present: { cmcc: 0, cucc: 0, ctcc: 0 },
            passing: { cmcc: 0, cucc: 0, ctcc: 0 },
            allowedToday: { cmcc: 0, cucc: 0, ctcc: 0 },
            part: 0,
            parts: 1,
            tookMs: 0,
            error: (e as Error).message,
          };
          msg.respond(JSON.stringify(error));
        }
      })();
    },
  });

  const reachedSub = nc.subscribe(REACHED_SUBJECT, {
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        try {
          const req = ReachedRequest.parse(msg.json());
          const cells = await engine.reached(req.taskId, countsFor);
          const reply: ReachedReply = {
            v: 1,
            instance,
            shards: myShards(),
            tracked: cells !== undefined,
            cells: cells ?? {},
            part: 0,
            parts: 1,
          };
          msg.respond(JSON.stringify(reply));
        } catch (e) {
          const reply: ReachedReply = {
            v: 1,
            instance,
            shards: myShards(),
            tracked: false,
            cells: {},
            part: 0,
            parts: 1,
            error: (e as Error).message,
          };
          msg.respond(JSON.stringify(reply));
        }
      })();
    },
  });

  const whySub = nc.subscribe(WHY_SUBJECT, {
    callback: (err, msg) => {
      if (err) return;
      void (async () => {
        let reply: WhyReply;
        try {
          const req = WhyRequest.parse(msg.json());
          reply = { v: 1, instance, shards: myShards(), ...(await engine.why(req.taskId, req.msisdn)) };
        } catch (e) {
          reply = { v: 1, instance, shards: myShards(), tracked: false, seen: false, reason: 'not_tracked', error: (e as Error).message };
        }
        msg.respond(JSON.stringify(reply));
      })();
    },
  });

  return () => {
    reachSub.unsubscribe();
    reachedSub.unsubscribe();
    whySub.unsubscribe();
  };
}
