import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';

/** London people 001–040 (in folder order) are held out of the calibration: the tests measure the decision on them. */
export const HELD_OUT_FOR_TESTS = 40;

export interface LabelledImage {
  set: string;
  person: string;
  label: string;
  file: string;
}

const LONDON = path.resolve('test/fixtures/calibration/london');

/**
 * Enrollment photos are taken close: the 160 px London crops hold a face of about 75 px, under
 * the 80 px enrollment gate, so they are enlarged as a phone photo of the member would be.
 */
const ENROLL_PHOTO_SIDE_PX = 240;

/** A London crop as the admin would enroll it: a close photo of the member. */
export function enrollmentPhoto(file: string): Promise<Buffer> {
  return sharp(readFileSync(file)).resize(ENROLL_PHOTO_SIDE_PX).jpeg({ quality: 92 }).toBuffer();
}

/** The London people held out for the tests, in folder order. */
export function heldOutPeople(): string[] {
  return londonPeople().slice(0, HELD_OUT_FOR_TESTS);
}

/** One photo of a London person: `neutral_front`, `smiling_front`, `neutral_left_3quarter`, … */
export function londonPhoto(person: string, view: string): string {
  return path.join(LONDON, person, `${view}.jpg`);
}

function londonPeople(): string[] {
  return readdirSync(LONDON, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .sort();
}

/**
 * The calibration's labelled photos: each person's first photo is enrolled, the others are seen
 * live. faces-bbt: 8 people × 5 crops; London: the people after the held-out ones, neutral
 * frontal enrolled, smiling frontal and two turned views live.
 */
export function labelledSets(londonCount: number | undefined): { enrolled: LabelledImage[]; live: LabelledImage[] } {
  const enrolled: LabelledImage[] = [];
  const live: LabelledImage[] = [];
  const bbt = path.resolve('test/fixtures/faces');
  for (const person of readdirSync(bbt, { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name).sort()) {
    const files = readdirSync(path.join(bbt, person)).filter((f) => /\.(png|jpe?g)$/i.test(f)).sort();
    files.forEach((f, i) => (i === 0 ? enrolled : live).push({ set: 'bbt', person, label: f, file: path.join(bbt, person, f) }));
  }
  for (const person of londonPeople().slice(HELD_OUT_FOR_TESTS).slice(0, londonCount)) {
    const file = (view: string) => ({ set: 'london', person, label: view, file: londonPhoto(person, view) });
    enrolled.push(file('neutral_front'));
    for (const view of ['smiling_front', 'neutral_left_3quarter', 'smiling_right_3quarter']) live.push(file(view));
  }
  return { enrolled, live };
}

export function personKey(image: LabelledImage): string {
  return `${image.set}/${image.person}`;
}

