import { readFileSync } from 'node:fs';
import type { Socket } from 'socket.io-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { enrollmentPhoto, heldOutPeople, londonPhoto } from '../../scripts/calibration/labelledSets.js';
import { tillCameraFrame } from '../../scripts/calibration/tillCamera.js';
import { metricValue, pushFrame, waitUntil } from '../support/frames.js';
import { bearer, postJson, startTestApp, type TestApp } from '../support/testApp.js';
import { recordingTill, type TillEvent } from '../support/till.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const MEMBERS = 8;
const STRANGERS = 3;
/** From across the shop to the counter: crop sides in a 640×480 frame (faces of about 48 to 150 px). */
const WALK_UP_CROP_PX = [56, 64, 72, 80, 92, 104, 116, 130, 150, 170, 200, 200];
/** Frames analyzed so far: each detect stage observed is one frame. */
const ANALYZED = 'memberlens_inference_stage_seconds_count{stage="detect"}';

/**
 * A stranger walking up to the counter is never named, over the whole walk-up with the
 * tracker's votes, while a member walking up the same way is: held-out London faces (never
 * in the calibration), grey and noisy as a cheap till camera sees them.
 */
describe('a walk-up at the till', () => {
  let service: TestApp;
  let till: Socket;
  const events: TillEvent[] = [];
  const people = heldOutPeople();
  const memberIds = new Map<string, string>();

  beforeAll(async () => {
    service = await startTestApp('walk-up', { inference: { workers: 2 } });
    for (const person of people.slice(0, MEMBERS)) {
      const created = await postJson(`${service.app.url}/api/members`, service.tokens.admin, { name: `London ${person}` });
      const photo = await enrollmentPhoto(londonPhoto(person, 'neutral_front'));
      const face = await fetch(`${service.app.url}/api/members/${created.body.id}/faces?consentMethod=written&staff=test`, {
        method: 'POST',
        headers: { ...bearer(service.tokens.admin), 'content-type': 'image/jpeg' },
        body: new Uint8Array(photo),
      });
      expect(face.status).toBe(201);
      memberIds.set(person, created.body.id);
    }
    ({ socket: till } = await recordingTill(service.app.url, service.tokens.till, 'lane1', events));
  });

  afterAll(async () => {
    till?.close();
    await service?.stop();
  });

  async function walkUp(person: string, seed: number): Promise<void> {
    const photo = readFileSync(londonPhoto(person, 'smiling_front'));
    const analyzed = () => metricValue(service.app.url, service.tokens.admin, ANALYZED);
    for (const [i, cropPx] of WALK_UP_CROP_PX.entries()) {
      const before = await analyzed();
      const res = await pushFrame(service.app.url, 'lane1', service.tokens.device, await tillCameraFrame(photo, cropPx, 'grey-noisy', seed + i));
      expect(res.status).toBe(202);
      // Every step of the walk is looked at, however busy the machine: a real camera sends more frames than this.
      await waitUntil(async () => (await analyzed()) > before, `frame ${i} of the walk-up analyzed`, 30_000);
    }
    // Gone: the track ends before the next person walks up.
    await sleep(2_000);
  }

  it('never names a stranger', async () => {
    for (const [k, person] of people.slice(MEMBERS, MEMBERS + STRANGERS).entries()) await walkUp(person, 1000 * k);
    expect(events.filter((e) => e.name === 'member:recognized')).toEqual([]);
    expect(events.filter((e) => e.name === 'face:unknown').length).toBeGreaterThanOrEqual(STRANGERS);
  });

  it('names a member walking up the same way once their face is close enough', async () => {
    const person = people[0]!;
    await walkUp(person, 77);
    await waitUntil(() => events.some((e) => e.name === 'member:recognized'), 'the member named', 10_000);
    expect(events.filter((e) => e.name === 'member:recognized').map((e) => e.payload.memberId)).toEqual([memberIds.get(person)]);
  });
});
