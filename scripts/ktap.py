#!/usr/bin/env python3
"""KTAP/TAP helpers for the workbench.

  ktap.py extract CONSOLE.log OUT.tap   first top-level "KTAP version" block of a kernel console log
  ktap.py count [--json] FILE...        count leaf test cases (parameterised cases count per parameter)

Counting rules: a result line is a leaf if no result lines were nested below it.  Leaves with
"# SKIP" are skipped.  A non-leaf "not ok" whose leaves all passed counts as one failure.  A missing
or empty file, a missing top-level plan, or fewer results than a plan announces ("truncated") count
as one failure each, so a crashed run can never look like "0 passed, 0 failed".
"""
import json
import re
import sys

PREFIX = re.compile(r'^(\[\s*\d+\.\d+\]\s?)?(\[\s*[CT]\d+\]\s?)?')
KTAP_LINE = re.compile(r'^\s*(K?TAP version \d+|1\.\.\d+|(not )?ok\b|#)')
RESULT = re.compile(r'^(\s*)(not ok|ok)\s+(\d+)\b\s*-?\s*([^#]*?)\s*(#\s*(.*))?$')
PLAN = re.compile(r'^(\s*)1\.\.(\d+)\s*$')


def strip_prefix(line):
    return PREFIX.sub('', line.rstrip('\r\n'), count=1)


def extract(console, out):
    lines = [strip_prefix(l) for l in open(console, errors='replace')]
    start = None
    for i, l in enumerate(lines):
        if re.match(r'^K?TAP version \d+\s*$', l):
            start = i
            break
    res = []
    if start is not None:
        top_plan, top_results = None, 0
        for l in lines[start:]:
            if not KTAP_LINE.match(l):
                continue
            if res and re.match(r'^K?TAP version', l) and top_plan is not None and top_results >= top_plan:
                break
            res.append(l)
            m = PLAN.match(l)
            if m and m.group(1) == '' and top_plan is None:
                top_plan = int(m.group(2))
            m = RESULT.match(l)
            if m and m.group(1) == '':
                top_results += 1
            if top_plan is not None and top_results >= top_plan:
                break
    with open(out, 'w') as f:
        f.write(''.join(l + '\n' for l in res))
    print(f'extracted {len(res)} KTAP lines from {console} -> {out}')
    return 0 if res else 1


def count(path):
    r = {'file': path, 'passed': 0, 'failed': 0, 'skipped': 0, 'errors': [], 'failures': []}
    try:
        lines = [l.rstrip('\r\n') for l in open(path, errors='replace')]
    except OSError as e:
        r['errors'].append(f'missing: {e.strerror}')
        r['failed'] += 1
        return r
    plans = {}      # indent -> announced plan
    results = {}    # indent -> number of results at that indent since the parent's last result
    failed_below = {}  # indent -> leaves failed below since last result at that indent
    top_indent = None
    stack = []      # pending names for context
    for l in lines:
        m = PLAN.match(l)
        if m:
            ind = len(m.group(1))
            plans[ind] = int(m.group(2))
            results.setdefault(ind, 0)
            if top_indent is None or ind < top_indent:
                top_indent = ind
            continue
        m = RESULT.match(l)
        if not m:
            continue
        ind = len(m.group(1))
        if top_indent is None or ind < top_indent:
            top_indent = ind
        notok = m.group(2) == 'not ok'
        name = m.group(4).strip()
        directive = (m.group(6) or '').strip()
        deeper = [i for i in list(results) if i > ind]
        children = sum(results[i] for i in deeper)
        child_failed = sum(failed_below.get(i, 0) for i in deeper)
        for i in deeper:
            if i in plans and results[i] < plans[i]:
                r['errors'].append(f'truncated: "{name}" announced {plans[i]} results, got {results[i]}')
                r['failed'] += 1
                child_failed += 1
            plans.pop(i, None); results.pop(i, None); failed_below.pop(i, None)
        results[ind] = results.get(ind, 0) + 1
        if children == 0:
            if notok:
                r['failed'] += 1
                r['failures'].append(l.strip())
                failed_below[ind] = failed_below.get(ind, 0) + 1
            elif directive.upper().startswith('SKIP'):
                r['skipped'] += 1
            else:
                r['passed'] += 1
        else:
            if child_failed:
                failed_below[ind] = failed_below.get(ind, 0) + child_failed
            elif notok and not directive.upper().startswith('SKIP'):
                r['failed'] += 1
                r['failures'].append(l.strip() + '   (no failing sub-case)')
                failed_below[ind] = failed_below.get(ind, 0) + 1
    # end of file: every level still open must have its plan satisfied
    for i in sorted(results):
        if i in plans and results[i] < plans[i]:
            r['errors'].append(f'truncated: plan 1..{plans[i]} at indent {i}, got {results[i]} results')
            r['failed'] += 1
    # leaves nested under a parent that never reported (crash mid-suite) were counted already
    if not lines or all(not l.strip() for l in lines):
        r['errors'].append('empty file')
    elif top_indent is None or top_indent not in plans and not any(
            PLAN.match(l) and len(PLAN.match(l).group(1)) == top_indent for l in lines):
        r['errors'].append('no top-level plan (1..N)')
    if r['errors'] and not any(e.startswith('truncated') for e in r['errors']):
        r['failed'] += 1
    return r


def main(argv):
    if len(argv) >= 3 and argv[0] == 'extract':
        return extract(argv[1], argv[2])
    if argv and argv[0] == 'count':
        args = argv[1:]
        as_json = '--json' in args
        files = [a for a in args if a != '--json']
        out, rc = [], 0
        for f in files:
            r = count(f)
            out.append(r)
            if r['failed'] or r['errors']:
                rc = 1
            if not as_json:
                print(f"{f}: {r['passed']} passed, {r['failed']} failed, {r['skipped']} skipped"
                      + ''.join(f'\n  ERROR: {e}' for e in r['errors'])
                      + ''.join(f'\n  FAIL: {e}' for e in r['failures'][:50]))
        if as_json:
            print(json.dumps(out, indent=1))
        return rc
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
