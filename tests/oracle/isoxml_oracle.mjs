// Oracle for leafnb's ISOXML time-log decoder: decodes TLG files with isoxml-js
// (dev4Agriculture/isoxml-js, Apache-2.0) and prints JSON statistics.
//
//   node isoxml_oracle.mjs stats <TLG.xml> <TLG.bin> [...more pairs]
//       -> [{name, records, errors, keys: {"<ddi>_<det>": {count, min, max}}, firstTime, lastTime}]
//   node isoxml_oracle.mjs bench <TLG.xml> <TLG.bin> [repeats]
//       -> {records, seconds}   (parseBinaryFile only, best of repeats)
//   node isoxml_oracle.mjs cpu <TLG.xml> <TLG.bin>
//       -> {records, cpu}   (CPU seconds of parseISOXMLFile + parseBinaryFile, once)
//   node isoxml_oracle.mjs ddi
//       -> the ISO 11783-11 data dictionary shipped with isoxml-js (DDEntities)
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const isoxml = require('isoxml');
const JSZip = require('jszip');

async function zipTimeLog(xmlPath, binPath) {
  const name = basename(xmlPath).replace(/\.xml$/i, '');
  const zip = new JSZip();
  const root = '<?xml version="1.0" encoding="UTF-8"?>\n'
    + '<ISO11783_TaskData VersionMajor="4" VersionMinor="3" DataTransferOrigin="1">'
    + `<TSK A="TSK1" G="4"><TLG A="${name}" C="1"/></TSK></ISO11783_TaskData>`;
  zip.file('TASKDATA/TASKDATA.XML', root);
  zip.file(`TASKDATA/${name}.xml`, readFileSync(xmlPath));
  zip.file(`TASKDATA/${name}.bin`, readFileSync(binPath));
  return { name, data: await zip.generateAsync({ type: 'uint8array' }) };
}

async function parseTimeLog(data) {
  const manager = new isoxml.ISOXMLManager();
  await manager.parseISOXMLFile(data, 'application/zip');
  const task = manager.rootElement.attributes.Task[0];
  return task.attributes.TimeLog[0];
}

async function loadTimeLog(xmlPath, binPath) {
  const { name, data } = await zipTimeLog(xmlPath, binPath);
  return { name, timeLog: await parseTimeLog(data) };
}

async function stats(pairs) {
  const out = [];
  for (let i = 0; i < pairs.length; i += 2) {
    const { name, timeLog } = await loadTimeLog(pairs[i], pairs[i + 1]);
    const parsed = timeLog.parseBinaryFile();
    const keys = {};
    for (const rec of parsed.timeLogs) {
      for (const [k, v] of Object.entries(rec.values)) {
        const s = keys[k] || (keys[k] = { count: 0, min: v, max: v });
        s.count += 1;
        if (v < s.min) s.min = v;
        if (v > s.max) s.max = v;
      }
    }
    const recs = parsed.timeLogs;
    out.push({
      name,
      records: recs.length,
      errors: timeLog.parsingErrors,
      keys,
      firstTime: recs.length ? recs[0].time.getTime() : null,
      lastTime: recs.length ? recs[recs.length - 1].time.getTime() : null,
    });
  }
  return out;
}

async function bench(xmlPath, binPath, repeats) {
  let best = Infinity;
  let records = 0;
  for (let r = 0; r < repeats; r++) {
    const { timeLog } = await loadTimeLog(xmlPath, binPath);
    const t0 = process.hrtime.bigint();
    const parsed = timeLog.parseBinaryFile();
    const dt = Number(process.hrtime.bigint() - t0) / 1e9;
    records = parsed.timeLogs.length;
    best = Math.min(best, dt);
  }
  return { records, seconds: best };
}

async function cpu(xmlPath, binPath) {
  const { data } = await zipTimeLog(xmlPath, binPath); // packing the test zip: not timed
  const c0 = process.cpuUsage();
  const timeLog = await parseTimeLog(data);
  const parsed = timeLog.parseBinaryFile();
  const c = process.cpuUsage(c0);
  return { records: parsed.timeLogs.length, cpu: (c.user + c.system) / 1e6 };
}

const [mode, ...args] = process.argv.slice(2);
let result;
if (mode === 'stats') result = await stats(args);
else if (mode === 'cpu') result = await cpu(args[0], args[1]);
else if (mode === 'bench') result = await bench(args[0], args[1], Number(args[2] || 1));
else if (mode === 'ddi') {
  const dd = require('isoxml/dist/DDEntities.js').default;
  result = Object.values(dd).map((e) => ({ ddi: e.DDI, name: e.name, unit: e.unit, resolution: e.bitResolution }));
} else {
  console.error('usage: isoxml_oracle.mjs stats|bench|ddi ...');
  process.exit(2);
}
process.stdout.write(JSON.stringify(result));
