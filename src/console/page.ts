/**
 * The query console's HTML and CSS (routes/console.ts serves them). Kept as strings in the source so the
 * bundled build needs no asset files; nothing here is templated per request, so nothing the client or the
 * database sends can end up in the markup. The page loads only /console/app.css and /console/app.js.
 */
export const CONSOLE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>sqlgate console</title>
<link rel="stylesheet" href="/console/app.css">
<script src="/console/app.js" defer></script>
</head>
<body>
<header>
  <h1>sqlgate console</h1>
  <form id="auth" autocomplete="off">
    <label>Token <input id="token" type="password" placeholder="API key or JWT (kept in this tab only)"></label>
    <button id="save-token" type="submit">Use token</button>
    <button id="forget-token" type="button">Forget</button>
  </form>
</header>
<main>
  <section id="editor">
    <label>Backend <select id="backend"><option value="">(default)</option></select></label>
    <label class="wide">SQL <textarea id="sql" rows="6" spellcheck="false">SELECT 1 AS one</textarea></label>
    <label class="wide">Params (JSON array or object, optional)
      <textarea id="params" rows="2" spellcheck="false" placeholder='[42, "text"] or {"id": 42}'></textarea></label>
    <div class="row">
      <button id="run" type="button">Run (Ctrl+Enter)</button>
      <label><input id="explain" type="checkbox"> explain</label>
      <span id="status" role="status"></span>
    </div>
  </section>
  <section id="output">
    <div id="error" hidden></div>
    <div id="summary"></div>
    <div id="result"></div>
  </section>
  <aside>
    <h2>History <button id="clear-history" type="button">clear</button></h2>
    <ol id="history"></ol>
  </aside>
</main>
</body>
</html>
`;

export const CONSOLE_CSS = `
:root { font-family: system-ui, sans-serif; font-size: 14px; color: #1b1f24; background: #f6f7f9; }
body { margin: 0; }
header { display: flex; gap: 1.5rem; align-items: center; padding: .5rem 1rem; background: #1f2a37; color: #fff; }
header h1 { font-size: 1.1rem; margin: 0; }
header input { width: 22rem; }
main { display: grid; grid-template-columns: 1fr 18rem; gap: 1rem; padding: 1rem; }
#editor, #output { grid-column: 1; }
aside { grid-column: 2; grid-row: 1 / span 2; background: #fff; padding: .5rem; border: 1px solid #d8dde3; }
aside h2 { font-size: 1rem; margin: 0 0 .5rem; }
#history { padding-left: 1.2rem; margin: 0; max-height: 70vh; overflow: auto; }
#history li { cursor: pointer; font-family: ui-monospace, monospace; font-size: 12px; margin-bottom: .3rem;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis; }
label { display: inline-flex; flex-direction: column; gap: .2rem; margin: 0 1rem .5rem 0; }
label.wide { display: flex; }
.row label, header label { flex-direction: row; align-items: center; gap: .4rem; margin: 0; }
.row { display: flex; gap: 1rem; align-items: center; }
textarea { font-family: ui-monospace, monospace; font-size: 13px; width: 100%; box-sizing: border-box; }
button { cursor: pointer; }
#error { background: #fdecea; border: 1px solid #e0a39b; color: #7a1c12; padding: .5rem; margin: .5rem 0;
  font-family: ui-monospace, monospace; white-space: pre-wrap; }
#error .code { font-weight: bold; }
#summary { margin: .5rem 0; color: #3d4752; }
#result { overflow: auto; max-height: 60vh; background: #fff; border: 1px solid #d8dde3; }
table { border-collapse: collapse; font-family: ui-monospace, monospace; font-size: 13px; }
th, td { border: 1px solid #e3e7eb; padding: .2rem .5rem; text-align: left; vertical-align: top; }
th { background: #eef1f4; position: sticky; top: 0; }
th .type { display: block; font-weight: normal; color: #5b6670; font-size: 11px; }
td.null { color: #8a949e; font-style: italic; }
td.num { text-align: right; }
pre.plan { margin: 0; padding: .5rem; font-size: 12px; }
`;
