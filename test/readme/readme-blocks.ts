/*
 * The README's command blocks, read from the file itself: every ```sh block, in order, with the line
 * it starts on. A block is skipped only when the line right above its fence is
 * `<!-- readme-test: skip <reason> -->` with a reason; a skip without one is an error, so that no
 * documented command stops being run silently. Blocks of other languages (text, mermaid, yaml) are
 * documentation and never run (the walk applies a yaml block where the prose asks for that edit).
 */

export interface ReadmeBlock {
  /** 1-based line of the opening fence. */
  readonly line: number;
  /** The section heading the block is under (`## …` / `### …`). */
  readonly section: string;
  readonly script: string;
  /** Why it is not run, from its skip comment. @default - it runs */
  readonly skipReason?: string;
}

const SKIP = /^<!--\s*readme-test:\s*skip(?:\s+(.*?))?\s*-->$/;

export function readmeShellBlocks(markdown: string): ReadmeBlock[] {
  return readmeCodeBlocks(markdown, 'sh');
}

/** The README's code blocks of one language (the first word of the fence's info string), in order. */
export function readmeCodeBlocks(markdown: string, language: string): ReadmeBlock[] {
  const lines = markdown.split('\n');
  const blocks: ReadmeBlock[] = [];
  let section = '(top)';
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    const heading = /^#{1,6}\s+(.*)$/.exec(line);
    if (heading) section = heading[1];
    const fence = /^(`{3,})(.*)$/.exec(line);
    if (!fence) continue;
    const [, ticks, info] = fence;
    const end = lines.findIndex((candidate, at) => at > index && candidate.startsWith(ticks) && candidate.slice(ticks.length).trim() === '');
    if (end === -1) throw new Error(`README line ${index + 1}: the code block is never closed`);
    if (info.trim().split(/\s+/)[0] === language) {
      const skip = SKIP.exec((lines[index - 1] ?? '').trim());
      if (skip && !(skip[1] ?? '').trim()) throw new Error(`README line ${index}: a readme-test skip needs a reason: <!-- readme-test: skip <why> -->`);
      blocks.push({ line: index + 1, section, script: lines.slice(index + 1, end).join('\n'), ...(skip ? { skipReason: skip[1].trim() } : {}) });
    }
    index = end;
  }
  return blocks;
}
