/**
 * Reading /proc text the way the kernel writes it. Names in it (interfaces, unix paths, commands)
 * are the bytes a user gave: the kernel forbids only `/`, `:` and its own blanks in an interface
 * name (dev_valid_name), so `💩0` or `a　b` (U+3000) are valid names, and UTF-8 is what tools
 * (`ip`, sysfs directory names as Node reads them) show. Fields are separated by ASCII spaces
 * and tabs only: JavaScript's `\s` and `trim()` also treat U+3000, U+2003, U+FEFF… as blanks and
 * would cut such a name apart.
 */

/** A /proc file's text, decoded as UTF-8 (ASCII files decode alike). */
export function procText(buf: Buffer): string {
  return buf.toString('utf8');
}

const BLANKS = /[ \t]+/;
const EDGE_BLANKS = /^[ \t]+|[ \t\r]+$/g;

/** The line without the kernel's blanks at either end (other whitespace stays: it may be a name's). */
export function trimBlanks(line: string): string {
  return line.replace(EDGE_BLANKS, '');
}

/** The fields of a line, split at runs of spaces and tabs; [] for a blank line. */
export function blankFields(line: string): string[] {
  const t = trimBlanks(line);
  return t === '' ? [] : t.split(BLANKS);
}
