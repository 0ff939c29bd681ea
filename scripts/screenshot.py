#!/usr/bin/env python3
"""Renders a tmux pane captured with `tmux capture-pane -e -p` (text with SGR colour codes) to
a PNG, so the README's screenshot comes from the real program. Needs Pillow and DejaVu Sans
Mono (Debian: fonts-dejavu-core).

    scripts/screenshot.py CAPTURE.txt OUT.png
"""
import re
import sys

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSansMono-Bold.ttf"
SIZE = 15
BG, FG = (24, 24, 27), (220, 220, 220)
PALETTE = [(40, 40, 40), (224, 82, 82), (98, 200, 112), (230, 192, 80), (82, 139, 255), (200, 110, 220),
           (80, 200, 220), (200, 200, 200), (110, 110, 110), (255, 110, 110), (130, 230, 140),
           (255, 220, 110), (120, 170, 255), (230, 140, 250), (120, 230, 250), (255, 255, 255)]

def parse(line):
    """Yields (char, fg, bg, bold) per cell."""
    fg, bg, bold = FG, BG, False
    i = 0
    while i < len(line):
        m = re.match(r"\x1b\[([0-9;]*)m", line[i:])
        if m:
            codes = [int(c) for c in m.group(1).split(";") if c] or [0]
            j = 0
            while j < len(codes):
                c = codes[j]
                if c == 0: fg, bg, bold = FG, BG, False
                elif c == 1: bold = True
                elif c == 22: bold = False
                elif c == 7: fg, bg = bg, fg
                elif c == 27: fg, bg = bg, fg
                elif 30 <= c <= 37: fg = PALETTE[c - 30]
                elif 90 <= c <= 97: fg = PALETTE[c - 90 + 8]
                elif c == 39: fg = FG
                elif 40 <= c <= 47: bg = PALETTE[c - 40]
                elif 100 <= c <= 107: bg = PALETTE[c - 100 + 8]
                elif c == 49: bg = BG
                elif c in (38, 48) and j + 2 < len(codes) and codes[j + 1] == 5:
                    n = codes[j + 2]
                    col = PALETTE[n] if n < 16 else FG
                    if c == 38: fg = col
                    else: bg = col
                    j += 2
                j += 1
            i += m.end()
            continue
        m = re.match(r"\x1b\[[0-9;?]*[A-Za-z]", line[i:])
        if m:
            i += m.end()
            continue
        yield line[i], fg, bg, bold
        i += 1

def main(src, dst):
    lines = open(src, encoding="utf-8").read().rstrip("\n").split("\n")
    font, bold_font = ImageFont.truetype(FONT, SIZE), ImageFont.truetype(BOLD, SIZE)
    cw = font.getbbox("M")[2]
    ch = SIZE + 4
    cols = max(sum(1 for _ in parse(l)) for l in lines)
    img = Image.new("RGB", (cols * cw + 24, len(lines) * ch + 24), BG)
    draw = ImageDraw.Draw(img)
    for y, line in enumerate(lines):
        for x, (c, fg, bg, bold) in enumerate(parse(line)):
            px, py = 12 + x * cw, 12 + y * ch
            if bg != BG:
                draw.rectangle([px, py, px + cw, py + ch], fill=bg)
            if c != " ":
                draw.text((px, py + 1), c, font=bold_font if bold else font, fill=fg)
    img.save(dst)

if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
