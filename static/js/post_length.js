// How long a post is, counted the way each platform counts it: the same rule as
// captions/post_length.py (a test feeds both the same samples). X counts a link as 23,
// an emoji sequence as 2 and characters outside its light ranges (CJK among them) as 2.
(function () {
  "use strict";
  const X_URL_LENGTH = 23;
  const LIGHT = [[0x0000, 0x10ff], [0x2000, 0x200d], [0x2010, 0x201f], [0x2032, 0x2037]];
  const URL_PATTERN = /(?:https?:\/\/|www\.)[^\s]+/gi;
  const ZWJ = 0x200d;
  const KEYCAP = 0x20e3;

  const isLight = (cp) => LIGHT.some(([low, high]) => cp >= low && cp <= high);
  const isEmoji = (cp) =>
    (cp >= 0x1f000 && cp <= 0x1faff) || (cp >= 0x2600 && cp <= 0x27bf) || (cp >= 0x2b00 && cp <= 0x2bff);
  const isModifier = (cp) =>
    cp === 0xfe0e || cp === 0xfe0f || cp === KEYCAP ||
    (cp >= 0x1f3fb && cp <= 0x1f3ff) || (cp >= 0xe0020 && cp <= 0xe007f);
  const isRegional = (cp) => cp >= 0x1f1e6 && cp <= 0x1f1ff;

  function textWeight(text) {
    const points = Array.from(text, (ch) => ch.codePointAt(0));
    let total = 0;
    let i = 0;
    while (i < points.length) {
      const cp = points[i];
      if (!isEmoji(cp)) {
        total += isLight(cp) ? 1 : 2;
        i += 1;
        continue;
      }
      total += 2;
      if (isRegional(cp) && i + 1 < points.length && isRegional(points[i + 1])) {
        i += 2;
        continue;
      }
      i += 1;
      while (i < points.length) {
        if (isModifier(points[i])) i += 1;
        else if (points[i] === ZWJ && i + 1 < points.length) i += 2;
        else break;
      }
    }
    return total;
  }

  function xLength(text) {
    text = text.normalize("NFC");
    let total = 0;
    let start = 0;
    for (const match of text.matchAll(URL_PATTERN)) {
      total += textWeight(text.slice(start, match.index)) + X_URL_LENGTH;
      start = match.index + match[0].length;
    }
    return total + textWeight(text.slice(start));
  }

  function postLength(text, platform) {
    if (platform === "x") return xLength(text);
    return Array.from(text.normalize("NFC")).length;
  }

  window.postLength = postLength;
})();
