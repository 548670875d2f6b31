/**
 * The CSV reader past the common cases: the fast number conversion gives
 * exactly what Number gives, line numbers stay right across parse chunks and
 * after quoted fields that hold line breaks, empty lines are skipped but a
 * quoted empty field is a record, and malformed quoting names its line.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { DataFileError, openData, type OpenDataOptions } from '../../src/data/readers/index.js';
import { parseDecimal, parseNumber } from '../../src/data/readers/common.js';
import { bytesOf, collect, rng, tempDir } from './file-helpers.js';

const tmp = tempDir();
afterAll(() => tmp.remove());

function file(name: string, contents: string | Uint8Array): string {
  const path = tmp.file(name);
  writeFileSync(path, contents);
  return path;
}

async function failure(path: string, options: OpenDataOptions = {}, batchRows = 7): Promise<DataFileError> {
  const error = await (async () => collect(await openData(path, options), batchRows))().catch((e: unknown) => e);
  expect(error, `${path} should fail`).toBeInstanceOf(DataFileError);
  return error as DataFileError;
}

describe('parseDecimal', () => {
  it('gives what parseNumber gives (the same bits, NaN for what is not a finite decimal)', () => {
    const fixed = [
      '0', '-0', '+0', '0.0', '-0.0', '1', '-1', '+1', '1.', '.5', '-.5', '+.5', '.', '-', '+', '', ' ', ' 1', '1 ', '\t2\t',
      '007', '00.10', '1.2.3', '1..2', '--1', '+-1', '1-', '0x1f', '0X1F', '0b11', '0o7', '1_000', '1,5', '١',
      '1e5', '1E5', '1e+5', '1e-5', '1.5e-3', '-2.5E+2', '1e', '1e+', '1e-', 'e5', '.e5', '1e5.5', '1e0', '1e-0', '1e22', '1e23', '1e-22', '1e-23',
      '123456789012345', '1234567890123456', '12345678901234567890', '0.123456789012345', '0.1234567890123456', '9007199254740993',
      '1.7976931348623157e308', '1e308', '1e309', '-1e309', '5e-324', '1e-400', '2.2250738585072014e-308',
      'NaN', 'nan', 'Infinity', '-Infinity', 'inf', 'abc', '4kg', '1e5x', '0.1\n', '"1"',
      '0.1', '0.2', '0.3', '2.675', '1.005', '9.999999999999999', '0.30000000000000004', '123.456e-7', '4.35', '8.41e21', '5e-22',
    ];
    for (const s of fixed) expect(Object.is(parseDecimal(s), parseNumber(s)), JSON.stringify(s)).toBe(true);

    const r = rng(5);
    for (let i = 0; i < 20000; i++) {
      const v = (r() - 0.5) * 10 ** Math.floor(r() * 40 - 20);
      const forms = [String(v), v.toFixed(Math.floor(r() * 12)), v.toPrecision(1 + Math.floor(r() * 17)), v.toExponential(Math.floor(r() * 16)), String(Math.floor(v * 1000))];
      for (const s of forms) {
        const want = parseNumber(s);
        expect(Object.is(parseDecimal(s), want), s).toBe(true);
        expect(want).toBe(Number(s));
      }
    }
  });
});

describe('CSV numbers', () => {
  it('every spelling of a decimal reads as Number reads it, bit for bit', async () => {
    const r = rng(9);
    const fields: string[] = [];
    for (let i = 0; i < 3000; i++) {
      const v = (r() - 0.5) * 10 ** Math.floor(r() * 30 - 15);
      fields.push([String(v), v.toFixed(6), v.toPrecision(17), v.toExponential(3), '+' + Math.abs(v).toFixed(2), String(Math.round(v))][i % 6]);
    }
    const d = 6;
    const lines: string[] = [];
    for (let i = 0; i < fields.length; i += d) lines.push(fields.slice(i, i + d).join(','));
    const path = file('spellings.csv', lines.join('\n') + '\n');
    const { X } = await collect(await openData(path, { dtype: 'float64' }));
    expect(bytesOf(X).equals(bytesOf(Float64Array.from(fields, Number)))).toBe(true);
    const f32 = await collect(await openData(path, { dtype: 'float32' }), 100);
    const data = f32.batches.flatMap((b) => Array.from(b.X.data));
    expect(data).toEqual(fields.map((s) => Math.fround(Number(s))));
  });
});

describe('CSV line numbers', () => {
  it('count the line breaks inside quoted fields', async () => {
    // A header whose first name spans lines 1-2: the records are on lines 3 and 4.
    let e = await failure(file('qh.csv', '"x\ny",b\n1,2\n3,z\n'));
    expect([e.line, e.column]).toEqual([4, 1]);
    // A field spanning lines 2-3 is named by the line where it starts.
    e = await failure(file('qf.csv', 'a,b\n1,"2\n3"\n3,4\n'));
    expect([e.line, e.column]).toEqual([2, 1]);
    expect(e.message).toContain('field "2\\n3" is not a number');
    // "2\n" is the number 2 (spaces around a number are allowed); the next record is on line 4.
    e = await failure(file('qn.csv', 'a,b\n1,"2\n"\n3,x\n'));
    expect([e.line, e.column]).toEqual([4, 1]);
    // A field count error names the line where the record starts.
    e = await failure(file('qc.csv', '"a\nb",c\n1,2\n3\n'));
    expect(e.line).toBe(4);
    expect(e.message).toContain('has 1 field where the first record has 2');
    const s = await openData(file('qok.csv', '"x\ny", b \n1,"2\n"\r\n3,4\n'));
    expect(s.featureNames).toEqual(['x\ny', 'b']);
    expect(Array.from((await collect(s)).X)).toEqual([1, 2, 3, 4]);
  });

  it('with \\r alone as the line break, and after a byte order mark', async () => {
    const e = await failure(file('cr.csv', 'a,b\r1,2\r\r3,x\r'));
    expect([e.line, e.column]).toEqual([4, 1]);
    const s = await openData(file('bom.csv', '\uFEFFa,b\n1,2\n'));
    expect(s.featureNames).toEqual(['a', 'b']);
    expect(Array.from((await collect(s)).X)).toEqual([1, 2]);
  });

  it('stay right across parse chunks, with quoted line breaks and blank lines throughout, plain and gzip', async () => {
    const r = rng(21);
    const d = 12;
    const rows = 40000; // about 4.5 MB: several parse chunks, records cut at chunk ends
    const lines = ['"first\nname",' + Array.from({ length: d - 1 }, (_, j) => `c${j}`).join(',')];
    const want: number[] = [];
    let line = 3;
    for (let i = 0; i < rows; i++) {
      // (+ 0: no -0, which String writes as 0)
      const values = Array.from({ length: d }, () => Math.round((r() - 0.5) * 2e6) / 1e4 + 0);
      want.push(...values);
      const fields = values.map(String);
      if (i % 97 === 5) fields[3] = `"${fields[3]}\n"`; // a number followed by a quoted line break
      lines.push(fields.join(','));
      line += 1 + (i % 97 === 5 ? 1 : 0);
      if (i % 13 === 0) {
        lines.push('');
        line++;
      }
    }
    const badLine = line;
    lines.push(Array.from({ length: d }, (_, j) => (j === 7 ? 'oops' : '1')).join(','));
    lines.push('1,2');
    const text = lines.join('\n') + '\n';
    for (const [name, contents] of [['long.csv', text], ['long-crlf.csv', text.replace(/\n/g, '\r\n')], ['long.csv.gz', gzipSync(text)]] as const) {
      const path = file(name, contents);
      const source = await openData(path);
      let got = 0;
      let error: unknown;
      try {
        for await (const b of source.batches(1000)) {
          expect(Array.from(b.X.data)).toEqual(want.slice(got * d, (got + b.X.shape[0]) * d));
          got += b.X.shape[0];
        }
      } catch (e) {
        error = e;
      }
      expect(got, String(error)).toBe(rows);
      expect(error, name).toBeInstanceOf(DataFileError);
      expect([(error as DataFileError).line, (error as DataFileError).column], name).toEqual([badLine, 7]);
    }
  });

  it('a record longer than a parse chunk', async () => {
    const d = 250000; // about 2 MB a record
    const row = Array.from({ length: d }, (_, j) => String((j % 1000) / 8)).join(',');
    const path = file('wide.csv', `${row}\n${row}\n`);
    const s = await openData(path, { dtype: 'float32' });
    expect(s.columns).toBe(d);
    const { X, rows } = await collect(s, 1);
    expect(rows).toBe(2);
    expect(X[d + 999]).toBe(999 / 8);
    expect(X[2 * d - 1]).toBe(((d - 1) % 1000) / 8);
  });
});

describe('CSV empty lines and quoting', () => {
  it('skips empty lines but reads a quoted empty field as a record', async () => {
    const ok = await collect(await openData(file('blank.csv', 'a\n\n1\n\n\n2\n\n')));
    expect(Array.from(ok.X)).toEqual([1, 2]);
    let e = await failure(file('quoted-empty.csv', 'a\n1\n""\n2\n'));
    expect([e.line, e.column]).toEqual([3, 0]);
    expect(e.message).toContain('empty field');
    e = await failure(file('quoted-empty-2.csv', '"a"\n\n1\n\n""\n'));
    expect([e.line, e.column]).toEqual([5, 0]);
  });

  it('an unclosed or malformed quote is invalid CSV at the line where the quoted field starts', async () => {
    let e = await failure(file('open.csv', '1,2\n3,"4\n5,6\n'));
    expect(e.line).toBe(2);
    expect(e.message).toMatch(/line 2: is not valid CSV: quoted field unterminated/);
    e = await failure(file('trailing.csv', '1,2\n"x\ny",2\n3,"4"5\n6,7\n'), { header: false }, 1);
    expect(e.message).toMatch(/line 2, column 0: field "x\\ny" is not a number/);
    e = await failure(file('trailing2.csv', 'a,b\n"1",2\n3,"4"5\n6,7\n'), {}, 1);
    expect(e.line).toBe(3);
    expect(e.message).toContain('is not valid CSV: trailing quote on quoted field is malformed');
    // A quote inside an unquoted field is part of it.
    e = await failure(file('inner.csv', '1,2\n3,4"5\n'));
    expect([e.line, e.column]).toEqual([2, 1]);
    expect(e.message).toContain('field "4\\"5" is not a number');
  });

  it('reads quoted numbers, and TSV with quotes', async () => {
    const a = await collect(await openData(file('q.csv', '"1","2.5"\n"-3",4\n')));
    expect(Array.from(a.X)).toEqual([1, 2.5, -3, 4]);
    const b = await collect(await openData(file('q.tsv', '"x"\t"y z"\n1\t"2"\n'), { target: 'y z' }));
    expect(Array.from(b.X)).toEqual([1]);
    expect(Array.from(b.y!)).toEqual([2]);
  });
});
