/**
 * The last few lines a child process wrote, kept for the operator's status detail. Bounded
 * in lines and in line length because a misbehaving camera can make ffmpeg print without
 * end. Credentials in URLs (rtsp://user:password@host) are masked on the way in, since
 * ffmpeg echoes its input URL in most errors and the detail is shown on screens and logs.
 */
export class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';

  constructor(
    private readonly maxLines: number,
    private readonly maxLineChars: number = 300,
  ) {}

  write(chunk: Buffer | string): void {
    const pieces = (this.partial + chunk.toString()).split(/\r\n|\n|\r/);
    this.partial = (pieces.pop() ?? '').slice(-this.maxLineChars);
    for (const piece of pieces) this.addLine(piece);
  }

  /** Joined with ' | ' so the tail fits on one status line. */
  text(): string {
    const all = this.partial.trim().length > 0 ? [...this.lines, maskUrlCredentials(this.partial.trim())] : this.lines;
    return all.slice(-this.maxLines).join(' | ');
  }

  clear(): void {
    this.lines.length = 0;
    this.partial = '';
  }

  private addLine(raw: string): void {
    const line = raw.trim();
    if (line.length === 0) return;
    this.lines.push(maskUrlCredentials(line.slice(0, this.maxLineChars)));
    if (this.lines.length > this.maxLines) this.lines.shift();
  }
}

export function maskUrlCredentials(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^\s/@]+@/gi, '$1***@');
}
