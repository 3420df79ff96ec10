"""A browser check shared by the hostile-text tests: is a name's text laid out left to right?

An unclosed right-to-left override (U+202E) in a name reverses what follows it on screen unless
the name is isolated (``<bdi>``). :data:`IN_ORDER` takes ``[[selector, marker], ...]`` and
answers, per pair, whether the marker's first two characters under ``selector`` are laid out
left to right (``true``), or why it could not tell (a string).
"""

IN_ORDER = """
(checks) => checks.map(([selector, marker]) => {
  const root = document.querySelector(selector);
  if (!root) return 'missing ' + selector;
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const at = node.data.indexOf(marker);
    if (at < 0) continue;
    const x = (i) => { const r = document.createRange(); r.setStart(node, i);
      r.setEnd(node, i + 1); return r.getBoundingClientRect().left; };
    return x(at) < x(at + 1);
  }
  return 'no ' + marker + ' in ' + selector;
})
"""
