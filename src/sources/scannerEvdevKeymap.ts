/**
 * Linux key codes (include/uapi/linux/input-event-codes.h) to the characters a scanner in
 * its default "US keyboard" mode types with them. Only what codes are made of: letters,
 * digits and the ASCII punctuation of a US keyboard.
 */

export const KEY_ENTER = 28;
export const KEY_KPENTER = 96;
export const KEY_LEFTSHIFT = 42;
export const KEY_RIGHTSHIFT = 54;

/** Keys that change what other keys mean; a code typed with one of them held is not text. */
export const CHORD_MODIFIER_KEYS: ReadonlySet<number> = new Set([
  29, // KEY_LEFTCTRL
  97, // KEY_RIGHTCTRL
  56, // KEY_LEFTALT
  100, // KEY_RIGHTALT
  125, // KEY_LEFTMETA
  126, // KEY_RIGHTMETA
]);

/** Keys that type nothing and change nothing the scanner relies on. */
export const IGNORED_KEYS: ReadonlySet<number> = new Set([
  58, // KEY_CAPSLOCK
  69, // KEY_NUMLOCK
  70, // KEY_SCROLLLOCK
]);

// [key code, unshifted, shifted]
const US_KEYS: ReadonlyArray<readonly [number, string, string]> = [
  [2, '1', '!'], [3, '2', '@'], [4, '3', '#'], [5, '4', '$'], [6, '5', '%'],
  [7, '6', '^'], [8, '7', '&'], [9, '8', '*'], [10, '9', '('], [11, '0', ')'],
  [12, '-', '_'], [13, '=', '+'],
  [16, 'q', 'Q'], [17, 'w', 'W'], [18, 'e', 'E'], [19, 'r', 'R'], [20, 't', 'T'],
  [21, 'y', 'Y'], [22, 'u', 'U'], [23, 'i', 'I'], [24, 'o', 'O'], [25, 'p', 'P'],
  [26, '[', '{'], [27, ']', '}'],
  [30, 'a', 'A'], [31, 's', 'S'], [32, 'd', 'D'], [33, 'f', 'F'], [34, 'g', 'G'],
  [35, 'h', 'H'], [36, 'j', 'J'], [37, 'k', 'K'], [38, 'l', 'L'],
  [39, ';', ':'], [40, "'", '"'], [41, '`', '~'], [43, '\\', '|'],
  [44, 'z', 'Z'], [45, 'x', 'X'], [46, 'c', 'C'], [47, 'v', 'V'], [48, 'b', 'B'],
  [49, 'n', 'N'], [50, 'm', 'M'],
  [51, ',', '<'], [52, '.', '>'], [53, '/', '?'], [57, ' ', ' '],
  // Keypad, as typed with Num Lock on (scanners that use the keypad send it that way).
  [55, '*', '*'], [71, '7', '7'], [72, '8', '8'], [73, '9', '9'], [74, '-', '-'],
  [75, '4', '4'], [76, '5', '5'], [77, '6', '6'], [78, '+', '+'], [79, '1', '1'],
  [80, '2', '2'], [81, '3', '3'], [82, '0', '0'], [83, '.', '.'], [98, '/', '/'],
];

const UNSHIFTED = new Map(US_KEYS.map(([code, plain]) => [code, plain]));
const SHIFTED = new Map(US_KEYS.map(([code, , shifted]) => [code, shifted]));

/** The character a key types, or undefined for a key that types none. */
export function characterForKey(keyCode: number, shift: boolean): string | undefined {
  return (shift ? SHIFTED : UNSHIFTED).get(keyCode);
}

