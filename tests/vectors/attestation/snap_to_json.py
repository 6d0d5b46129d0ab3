#!/usr/bin/env python3
"""Convert dcap-qvl's insta snapshots (Rust Debug dumps of a decoded quote) into
flat JSON {"path.to.field": int | "hex"} so C tests can compare every field.
Usage: snap_to_json.py IN.snap > OUT.json  (run by hand; output committed)."""
import json, re, sys

def convert_with_indent(text):
    # Field paths follow indentation: a named opener at indent i owns lines deeper than i.
    out, stack = {}, []  # stack of (indent, name)
    arr = None
    body = text.split('---', 2)[2]
    for raw in body.splitlines():
        if not raw.strip():
            continue
        ind = len(raw) - len(raw.lstrip())
        line = raw.strip()
        if arr is not None:
            if re.fullmatch(r'\d+,', line):
                arr[1].append(int(line[:-1])); continue
            if line in ('],', ']'):
                out[arr[0]] = bytes(arr[1]).hex(); arr = None; continue
            raise ValueError(line)
        while stack and ind <= stack[-1][0]:
            stack.pop()
        path = '.'.join(n for _, n in stack)
        pre = path + '.' if path else ''
        m = re.fullmatch(r'(\w+): \[', line)
        if m:
            arr = (pre + m.group(1), []); continue
        m = re.fullmatch(r'(\w+): (\d+),', line)
        if m:
            out[pre + m.group(1)] = int(m.group(2)); continue
        m = re.fullmatch(r'(\w+): [\w<>]+ ?[\{\(]', line)
        if m:
            stack.append((ind, m.group(1))); continue
    return out

if __name__ == '__main__':
    print(json.dumps(convert_with_indent(open(sys.argv[1]).read()), indent=1, sort_keys=True))
