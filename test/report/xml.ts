// A small XML well-formedness check for tests: balanced tags, quoted attributes, no stray '<' or '&'.
import assert from 'node:assert/strict';

export function assertWellFormedXml(xml: string): void {
  const body = xml.replace(/<!--[\s\S]*?-->/g, '').replace(/<!\[CDATA\[[\s\S]*?\]\]>/g, '').replace(/<\?[\s\S]*?\?>/g, '').replace(/<!DOCTYPE[^>]*>/i, '');
  const tag = /<(\/?)([A-Za-z_][\w:.-]*)((?:\s+[A-Za-z_][\w:.-]*\s*=\s*(?:"[^"<]*"|'[^'<]*'))*)\s*(\/?)>/g;
  const stack: string[] = [];
  let pos = 0;
  let roots = 0;
  for (let m = tag.exec(body); m; m = tag.exec(body)) {
    const text = body.slice(pos, m.index);
    assert.ok(!text.includes('<'), `stray '<' near: ${text.slice(text.indexOf('<'), text.indexOf('<') + 60)}`);
    assert.ok(!/&(?!(?:[A-Za-z]+|#\d+|#x[0-9a-fA-F]+);)/.test(text), `unescaped '&' near: ${text.slice(0, 60)}`);
    const [, close, name, , selfClose] = m;
    if (close) {
      assert.equal(stack.pop(), name, `</${name}> closes the wrong element`);
    } else if (!selfClose) {
      if (stack.length === 0) roots++;
      stack.push(name);
    } else if (stack.length === 0) {
      roots++;
    }
    pos = m.index + m[0].length;
  }
  assert.ok(!body.slice(pos).includes('<'), 'unparsable markup after the last tag');
  assert.deepEqual(stack, [], 'unclosed elements');
  assert.equal(roots, 1, 'exactly one root element');
}
