import { SqlgateError } from './errors.js';

/**
 * A statement built by the `sql` tag: the text with `:pN` named placeholders and the values beside it.
 * Values never become SQL text; the gateway's dialect rewrites `:pN` to its native placeholders.
 */
export class SqlFragment {
  /** SQL text with `:p0`, `:p1`, ... where the values go. */
  readonly sql: string;
  /** The values, by placeholder name. */
  readonly params: Record<string, unknown>;

  constructor(strings: readonly string[], values: readonly unknown[]) {
    let text = strings[0] ?? '';
    const params: Record<string, unknown> = {};
    let n = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i];
      if (v instanceof SqlFragment) {
        // A nested fragment keeps its own text; its placeholders are renumbered into this one.
        text += v.sql.replace(/:p(\d+)\b/g, (_, k: string) => {
          const name = `p${n + Number(k)}`;
          params[name] = v.params[`p${k}`];
          return `:${name}`;
        });
        n += Object.keys(v.params).length;
      } else {
        const name = `p${n++}`;
        params[name] = v;
        text += `:${name}`;
      }
      text += strings[i + 1] ?? '';
    }
    if (/:p\d/.test(strings.join(''))) {
      throw new SqlgateError('BAD_REQUEST', 'sql``: the text itself may not contain :pN placeholders');
    }
    this.sql = text;
    this.params = params;
  }
}

/**
 * Tagged template: `` sql`select * from t where id = ${id}` `` sends `id` as a parameter. A nested
 * `sql` fragment is spliced in with its own parameters; anything else is always a value.
 */
export function sql(strings: TemplateStringsArray, ...values: unknown[]): SqlFragment {
  return new SqlFragment(strings, values);
}
