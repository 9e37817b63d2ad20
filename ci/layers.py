#!/usr/bin/env python3
"""ci/layers.py: the layers of notfree, read from the meson dependency graph.

Each top-level folder declares its libraries in its meson.build
(`x_lib = static_library(..., dependencies : [...], link_whole : [...])`)
and what others link (`x_dep = declare_dependency(link_with : x_lib, ...)`).
This reads those declarations (no build needed), folds them into a graph of
folders, and either

  --mermaid   prints the graph as a Mermaid diagram (docs/ARCHITECTURE.md
              embeds this output; regenerate it with this flag), or
  --check     checks the rules below and exits 1 naming each edge that
              breaks one (the `unit` suite runs this).

The rules are the ones docs/ARCHITECTURE.md states: the lowest layers
depend on no folder of ours, the kernel model only on allocators/ and
base/, and nothing depends on a layer above it.
"""
import os
import re
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FOLDERS = ['base', 'allocators', 'workloads', 'trace', 'harness', 'kernels', 'modelrun', 'benches',
           'compare', 'check', 'tour', 'regress', 'cli']
# What each folder may depend on (folders of ours; system libraries are free).
ALLOWED = {
    'base': set(),
    'allocators': set(),
    'workloads': {'allocators', 'base'},
    'trace': {'workloads', 'allocators', 'base'},
    'harness': {'base'},
    'kernels': {'allocators', 'base'},
    'modelrun': {'kernels', 'workloads', 'allocators', 'base'},
    'benches': {'harness', 'kernels', 'modelrun', 'workloads', 'allocators', 'base'},
    'compare': {'harness', 'workloads', 'trace', 'allocators', 'base'},
    'check': {'compare', 'harness', 'allocators', 'base'},
    'tour': {'compare', 'harness', 'kernels', 'workloads', 'allocators', 'base'},
    'regress': {'harness', 'base'},
    'cli': set(FOLDERS) - {'cli'},
}
EXTERNAL = {'benchmark_dep': 'libbenchmark', 'hwloc_dep': 'hwloc', 'jansson_dep': 'jansson'}


def calls(text, func):
    """(variable, body) for each `var = func(...)` in text, parentheses matched."""
    for m in re.finditer(r'(\w+)\s*=\s*' + func + r'\(', text):
        depth, i = 1, m.end()
        while depth and i < len(text):
            depth += {'(': 1, ')': -1}.get(text[i], 0)
            i += 1
        yield m.group(1), text[m.end():i - 1]


def names(body, key):
    m = re.search(key + r'\s*:\s*\[([^\]]*)\]', body) or re.search(key + r'\s*:\s*(\w+)', body)
    return re.findall(r'\w+', m.group(1)) if m else []


def graph():
    lib_folder, dep_folder, uses = {}, {}, {}
    for f in FOLDERS:
        path = os.path.join(ROOT, f, 'meson.build')
        if not os.path.exists(path):
            continue
        text = open(path).read()
        for var, body in calls(text, 'static_library'):
            lib_folder[var] = f
            uses.setdefault(f, set()).update(names(body, 'dependencies') + names(body, 'link_whole'))
        for var, body in calls(text, 'declare_dependency'):
            dep_folder[var] = f
            uses.setdefault(f, set()).update(names(body, 'dependencies'))
        # The program: cli's notfree_deps list.
        for m in re.finditer(r'notfree_deps\s*\+?=\s*\[([^\]]*)\]', text):
            uses.setdefault(f, set()).update(re.findall(r'\w+', m.group(1)))
    # tour/ is compiled into notfree (tour_sources), so cli uses it.
    if os.path.exists(os.path.join(ROOT, 'tour', 'meson.build')):
        uses.setdefault('cli', set()).add('tour_sources')
        dep_folder['tour_sources'] = 'tour'
    edges = set()
    for f, vs in uses.items():
        for v in vs:
            to = dep_folder.get(v) or lib_folder.get(v) or EXTERNAL.get(v)
            if to and to != f:
                edges.add((f, to))
    return edges


def main():
    mode = sys.argv[1] if len(sys.argv) > 1 else '--mermaid'
    edges = graph()
    if mode == '--check':
        bad = [(a, b) for a, b in sorted(edges)
               if b in ALLOWED and b not in ALLOWED.get(a, set())]
        for a, b in bad:
            print(f'layers: {a}/ depends on {b}/, which its layer may not use', file=sys.stderr)
        if not edges:
            print('layers: no dependencies found (meson.build files moved?)', file=sys.stderr)
            return 1
        print(f'layers: {len(edges)} dependencies, {len(bad)} against the rules')
        return 1 if bad else 0
    if mode == '--mermaid':
        print('```mermaid')
        print('graph TD')
        for a, b in sorted(edges):
            shape = f'{b}(["{b}"])' if b in EXTERNAL.values() else b
            print(f'  {a} --> {shape}')
        print('```')
        return 0
    print('usage: ci/layers.py [--mermaid | --check]', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main())
