// What a page must not do at the viewport it is shown in (tests/console/test_browser.py):
// scroll sideways (the page, or a box inside it such as unfold's list wrapper), let a table
// spill out of its box, or break a word over two lines in a table cell.
// Returns a list of problems (strings); empty when the page fits.
(checkScroll) => {
  const problems = [];
  const text = (el) => (el.innerText || "").trim().replace(/\s+/g, " ").slice(0, 60);
  const doc = document.documentElement;
  if (checkScroll && doc.scrollWidth > doc.clientWidth + 1) {
    problems.push(`the page scrolls sideways (${doc.scrollWidth} > ${doc.clientWidth} px)`);
  }
  const main = document.querySelector("#content") || document.body;
  if (checkScroll) {
    for (const el of main.querySelectorAll("*")) {
      const overflow = getComputedStyle(el).overflowX;
      if ((overflow === "auto" || overflow === "scroll") && el.scrollWidth > el.clientWidth + 1) {
        problems.push(`a box scrolls sideways (${el.scrollWidth} > ${el.clientWidth} px): ${el.tagName}.${el.className}`.slice(0, 160));
      }
    }
    for (const table of main.querySelectorAll("table")) {
      const box = table.parentElement.getBoundingClientRect();
      const own = table.getBoundingClientRect();
      if (own.width > 0 && own.right > box.right + 1) {
        problems.push(`a table spills out of its box by ${Math.round(own.right - box.right)} px: ${text(table)}`);
      }
    }
  }
  // a word (a run of non-space characters in one text node) laid out on more than one line
  const range = document.createRange();
  for (const cell of main.querySelectorAll("th, td")) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      for (const match of node.textContent.matchAll(/\S+/g)) {
        range.setStart(node, match.index);
        range.setEnd(node, match.index + match[0].length);
        const tops = new Set([...range.getClientRects()].filter((r) => r.width > 0).map((r) => Math.round(r.top)));
        if (tops.size > 1) {
          problems.push(`"${match[0].slice(0, 40)}" is broken over ${tops.size} lines in: ${text(cell)}`);
        }
      }
    }
  }
  return problems;
}
