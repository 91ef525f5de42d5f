#!/usr/bin/env python3
"""Every #include "..." of the agent's sources against the layering that
docs/ARCHITECTURE.md documents (its "may include" table): an include the wrong way, of a
folder the table does not know, or a table the build does not match, fails the test.

The build enforces the same order (each library sees only its own headers and those of
what it links); this test keeps the document true to it and names the offending line.
Usage: check_includes.py SOURCE_DIR"""
import os
import re
import sys

root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), '..', '..')
doc = open(os.path.join(root, 'docs', 'ARCHITECTURE.md')).read()
m = re.search(r'<!-- layering -->\n(.*?)\n<!-- /layering -->', doc, re.S)
if not m:
    sys.exit('FAIL: docs/ARCHITECTURE.md has no "<!-- layering -->" table')
allowed = {}
for line in m.group(1).splitlines():
    cells = [c.strip().strip('`') for c in line.strip().strip('|').split('|')]
    if len(cells) != 2 or cells[0] in ('folder', '') or set(cells[0]) <= set('-: '):
        continue
    deps = {d.strip().strip('`') for d in cells[1].split(',') if d.strip() not in ('', '—', '-')}
    allowed[cells[0]] = deps
if not allowed:
    sys.exit('FAIL: the layering table is empty')

# Every dependency must itself be a folder of the table, and the graph must be acyclic.
for folder, deps in allowed.items():
    for d in deps:
        if d not in allowed:
            sys.exit(f'FAIL: {folder} may include {d}, which the table does not list')
seen, stack = set(), []


def visit(f):
    if f in stack:
        sys.exit('FAIL: the layering has a cycle: ' + ' -> '.join(stack[stack.index(f):] + [f]))
    if f in seen:
        return
    stack.append(f)
    for d in allowed[f]:
        visit(d)
    stack.pop()
    seen.add(f)


for f in allowed:
    visit(f)


def module_of(path):
    """The table's folder a path (relative to the root, or an include) belongs to."""
    if path == 'agent/version.h':  # generated into agent_base's include directory
        return 'agent/base'
    best = None
    for folder in allowed:
        if path.startswith(folder + '/') and (best is None or len(folder) > len(best)):
            best = folder
    return best


failures = 0
files = 0
for folder in sorted(allowed):
    directory = os.path.join(root, folder)
    if not os.path.isdir(directory):
        print(f'FAIL: {folder} is in the table but not in the tree')
        failures += 1
        continue
    for name in sorted(os.listdir(directory)):
        if not name.endswith(('.h', '.cpp')):
            continue
        files += 1
        rel = f'{folder}/{name}'
        for n, line in enumerate(open(os.path.join(directory, name)), 1):
            inc = re.match(r'\s*#\s*include\s+"([^"]+)"', line)
            if not inc:
                continue
            target = module_of(inc.group(1))
            if target is None:
                print(f'FAIL: {rel}:{n}: includes "{inc.group(1)}", which no folder of the table owns')
                failures += 1
            elif target != folder and target not in allowed[folder]:
                print(f'FAIL: {rel}:{n}: {folder} includes {inc.group(1)} ({target}), against the documented order '
                      f'({folder} may include: {", ".join(sorted(allowed[folder])) or "nothing"})')
                failures += 1
# Every folder with sources is in the table.
for top in ('netcfg', 'tunnel', 'sysctl', 'api', 'agent'):
    for dirpath, _, names in os.walk(os.path.join(root, top)):
        rel = os.path.relpath(dirpath, root)
        if any(n.endswith(('.h', '.cpp')) for n in names) and rel not in allowed and rel != 'agent':
            print(f'FAIL: {rel} holds sources but is not in the layering table')
            failures += 1
print(f'{files} files, {len(allowed)} folders checked against docs/ARCHITECTURE.md')
if failures:
    print(f'{failures} include(s) against the layering')
    sys.exit(1)
print('all includes follow the documented order')
