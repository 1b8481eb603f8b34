#!/usr/bin/env python3
"""doc-links.py FILE.md...: check the relative links of Markdown files.

Every [text](target) whose target is not a URL must name an existing file or directory
(relative to the file that links it); a #anchor must match a heading of the target Markdown
file (or of the file itself for a bare #anchor), slugged as GitHub does. Links inside code
blocks and code spans are ignored. Prints each broken link; exit 1 if there is one.
"""
import os
import re
import sys

LINK = re.compile(r'\[[^\]]*\]\(([^)\s]+)\)')


def slug(heading):
    s = heading.strip().lower()
    s = re.sub(r'[^\w\- ]', '', s)
    return s.replace(' ', '-')


def text_lines(path):
    """the lines of a Markdown file outside fenced code blocks, code spans removed"""
    out, fence = [], False
    for n, line in enumerate(open(path, encoding='utf-8'), 1):
        if line.lstrip().startswith('```'):
            fence = not fence
            continue
        if not fence:
            out.append((n, re.sub(r'`[^`]*`', '', line)))
    return out


def anchors(path):
    seen, out = {}, set()
    fence = False
    for line in open(path, encoding='utf-8'):
        if line.lstrip().startswith('```'):
            fence = not fence
            continue
        m = re.match(r'^#{1,6} (.*)', line)
        if m and not fence:
            s = slug(m.group(1))
            k = seen.get(s, 0)
            out.add(s if k == 0 else f'{s}-{k}')
            seen[s] = k + 1
    return out


def main(files):
    bad = 0
    for f in files:
        base = os.path.dirname(os.path.abspath(f))
        for n, line in text_lines(f):
            for target in LINK.findall(line):
                if re.match(r'^[a-z]+:', target):
                    continue
                path, _, anchor = target.partition('#')
                full = os.path.normpath(os.path.join(base, path)) if path else os.path.abspath(f)
                if not os.path.exists(full):
                    print(f'{f}:{n}: {target}: no such file')
                    bad += 1
                elif anchor and full.endswith('.md') and anchor not in anchors(full):
                    print(f'{f}:{n}: {target}: no heading for #{anchor}')
                    bad += 1
    print(f'doc-links: {bad} broken' if bad else f'doc-links: ok ({len(files)} files)')
    return 1 if bad else 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
