#!/usr/bin/env python3
"""Fill the cover letter that git format-patch wrote (make series).

usage: series-cover.py LINUX TEMPLATE COVER BASE

TEMPLATE (patches/cover-letter): the subject on the first line, a blank
line, then the body.  Placeholders, computed here so that they follow the
series: @CONVERSIONS@ (per converted driver: its patches and the lines
they add and delete in the driver's own code), @BASE@ (what the series
applies to).  @SEED_KASAN@ and @DEMO@ come from patches/cover-demo.txt
when it exists (sections separated by a line '--'), written from a
make demo run.
"""
import os
import re
import subprocess
import sys

linux, template, cover, base = sys.argv[1:5]


def git(*args):
    return subprocess.run(['git', '-C', linux] + list(args), check=True,
                          capture_output=True, text=True).stdout


# subject prefix -> driver name, in the order of the series
GROUPS = [('mtd:', 'mtdchar (/dev/mtdN)'),
          ('PCI: switchtec:', 'switchtec (/dev/switchtecN)'),
          ('tpm:', 'TPM (/dev/tpmN, /dev/tpmrmN)')]


def driver_file(path):
    if not (path.startswith('drivers/') or path.startswith('include/')):
        return False
    base_name = os.path.basename(path)
    return not (base_name.startswith('Kconfig') or base_name == 'Makefile'
                or base_name.endswith('_kunit.c'))


def conversions():
    commits = git('rev-list', '--reverse', 'refs/tags/cdev-dev..HEAD').split()
    subjects = {c: git('log', '-1', '--format=%s', c).strip() for c in commits}
    rows = []
    for prefix, name in GROUPS:
        nums, add, dele = [], 0, 0
        for i, c in enumerate(commits, 1):
            if not subjects[c].startswith(prefix):
                continue
            nums.append(i)
            for line in git('show', '--numstat', '--format=', c).splitlines():
                a, d, path = line.split('\t')
                if a != '-' and driver_file(path):
                    add += int(a)
                    dele += int(d)
        if nums:
            span = str(nums[0]) if len(nums) == 1 else '%d-%d' % (nums[0], nums[-1])
            rows.append((name, span, add, dele))
    out = ['  %-30s %-9s %7s %7s' % ('driver', 'patches', 'added', 'deleted')]
    for name, span, add, dele in rows:
        out.append('  %-30s %-9s %7d %7d' % (name, span, add, dele))
    return '\n'.join(out)


def demo_parts():
    path = os.path.join(os.path.dirname(template), 'cover-demo.txt')
    if not os.path.exists(path):
        missing = '  (patches/cover-demo.txt missing: run make demo and write it)'
        return missing, missing
    parts = open(path).read().split('\n--\n')
    if len(parts) != 2:
        sys.exit('%s: expected two sections separated by a line "--"' % path)
    return parts[0].rstrip('\n'), parts[1].rstrip('\n')


def main():
    lines = open(template).read().split('\n')
    subject, body = lines[0], '\n'.join(lines[2:]).rstrip('\n') + '\n'
    kasan, demo = demo_parts()
    m = re.match(r'base: Linux (\S+) from Debian (\S+) (\S+)', base)
    base_note = ('Base: Linux %s, as Debian ships it in\n%s %s.' % m.groups()
                 if m else 'Base: ' + base)
    body = (body.replace('@CONVERSIONS@', conversions())
            .replace('@BASE@', base_note)
            .replace('@SEED_KASAN@', kasan)
            .replace('@DEMO@', demo))
    left = re.findall(r'@[A-Z_]+@', body)
    if left:
        sys.exit('cover letter: unknown placeholders %s' % ' '.join(left))
    text = open(cover).read()
    if '*** SUBJECT HERE ***' not in text or '*** BLURB HERE ***' not in text:
        sys.exit('%s: not a cover letter of git format-patch' % cover)
    text = text.replace('*** SUBJECT HERE ***', subject)
    text = text.replace('*** BLURB HERE ***\n', body)
    open(cover, 'w').write(text)


main()
