// Independent facts about ISOXML time logs, decoded with isoxml-js (dev4Agriculture/isoxml-js,
// Apache-2.0) — not with leafnb. Used by benchmarks/corpus_facts/independent.py.
//
//   node isoxml_facts.mjs <TLG.xml> <TLG.bin> [...more pairs]
//     -> [{name, records, dlvs, errors, firstTime, lastTime, keys: {"<DDI hex>_<DET>": {count, min, max}},
//          positions: {valid, latMin, latMax, lonMin, lonMax, maxStepKm, maxStepAt, stepsOver1Km,
//                      pathKm, pathKmSteps1KmOrLess},   (valid: isoxml-js isValidPosition, not 0,0)
//          massFlowIntegralKg: {"<DET>": {forward, backward}, "applied_<DET>": ...}}]
//            (DDI 87 yield mass flow, and DDI 42 applied mass per time as applied_<DET>: mg/s × Δt)
//
// isoxml-js is resolved from tests/oracle/node_modules (installed by `./run test`), or from
// ISOXML_ORACLE_DIR when set.
import { readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const oracleDir = process.env.ISOXML_ORACLE_DIR || join(here, '..', '..', 'tests', 'oracle');
const require = createRequire(join(oracleDir, 'package.json'));
const isoxml = require('isoxml');
const JSZip = require('jszip');

async function loadTimeLog(xmlPath, binPath) {
  const name = basename(xmlPath).replace(/\.xml$/i, '');
  const zip = new JSZip();
  const root = '<?xml version="1.0" encoding="UTF-8"?>\n'
    + '<ISO11783_TaskData VersionMajor="4" VersionMinor="3" DataTransferOrigin="1">'
    + `<TSK A="TSK1" G="4"><TLG A="${name}" C="1"/></TSK></ISO11783_TaskData>`;
  zip.file('TASKDATA/TASKDATA.XML', root);
  zip.file(`TASKDATA/${name}.xml`, readFileSync(xmlPath));
  zip.file(`TASKDATA/${name}.bin`, readFileSync(binPath));
  const data = await zip.generateAsync({ type: 'uint8array' });
  const manager = new isoxml.ISOXMLManager();
  await manager.parseISOXMLFile(data, 'application/zip');
  const task = manager.rootElement.attributes.Task[0];
  return { name, timeLog: task.attributes.TimeLog[0], header: readFileSync(xmlPath, 'latin1') };
}

function haversineKm(lat1, lon1, lat2, lon2) {
  const r = Math.PI / 180;
  const a = Math.sin(((lat2 - lat1) * r) / 2) ** 2
    + Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 2 * 6371.0088 * Math.asin(Math.min(1, Math.sqrt(a)));
}

async function facts(xmlPath, binPath) {
  const { name, timeLog, header } = await loadTimeLog(xmlPath, binPath);
  const parsed = timeLog.parseBinaryFile();
  const recs = parsed.timeLogs;
  const keys = {};
  const pos = { valid: 0, latMin: null, latMax: null, lonMin: null, lonMax: null, maxStepKm: 0, maxStepAt: null, stepsOver1Km: 0, pathKm: 0, pathKmSteps1KmOrLess: 0 };
  let prev = null;
  const flow = {};
  const lastFlow = {};
  let prevTime = null;
  for (let i = 0; i < recs.length; i++) {
    const rec = recs[i];
    const t = rec.time.getTime() / 1000;
    for (const [k, v] of Object.entries(rec.values)) {
      const s = keys[k] || (keys[k] = { count: 0, min: v, max: v });
      s.count += 1;
      if (v < s.min) s.min = v;
      if (v > s.max) s.max = v;
    }
    if (prevTime !== null) {
      const dt = t - prevTime;
      for (const [det, v] of Object.entries(lastFlow)) {
        const f = flow[det] || (flow[det] = { forward: 0, backward: 0 });
        f.forward += (v * dt) / 1e6; // value held from the previous record until this one
      }
    }
    for (const [k, v] of Object.entries(rec.values)) {
      if (k.startsWith('0057_')) lastFlow[k.slice(5)] = v;
      if (k.startsWith('002A_')) lastFlow[`applied_${k.slice(5)}`] = v;
    }
    if (prevTime !== null) {
      const dt = t - prevTime;
      for (const [det, v] of Object.entries(lastFlow)) {
        const f = flow[det] || (flow[det] = { forward: 0, backward: 0 });
        f.backward += (v * dt) / 1e6; // value of this record over the interval that ends here
      }
    }
    prevTime = t;
    const p = rec.position;
    if (rec.isValidPosition && p && Number.isFinite(p.PositionNorth) && Number.isFinite(p.PositionEast)) {
      const lat = p.PositionNorth;
      const lon = p.PositionEast;
      pos.valid += 1;
      pos.latMin = pos.latMin === null ? lat : Math.min(pos.latMin, lat);
      pos.latMax = pos.latMax === null ? lat : Math.max(pos.latMax, lat);
      pos.lonMin = pos.lonMin === null ? lon : Math.min(pos.lonMin, lon);
      pos.lonMax = pos.lonMax === null ? lon : Math.max(pos.lonMax, lon);
      if (prev) {
        const d = haversineKm(prev[0], prev[1], lat, lon);
        pos.pathKm += d;
        if (d > 1) pos.stepsOver1Km += 1;
        else pos.pathKmSteps1KmOrLess += d;
        if (d > pos.maxStepKm) {
          pos.maxStepKm = d;
          pos.maxStepAt = rec.time.toISOString();
        }
      }
      prev = [lat, lon];
    }
  }
  const dlvs = (header.match(/<DLV\b/g) || []).length;
  return {
    name,
    records: recs.length,
    dlvs,
    errors: timeLog.parsingErrors,
    firstTime: recs.length ? recs[0].time.toISOString() : null,
    lastTime: recs.length ? recs[recs.length - 1].time.toISOString() : null,
    keys,
    positions: pos,
    massFlowIntegralKg: flow,
  };
}

const args = process.argv.slice(2);
const out = [];
for (let i = 0; i < args.length; i += 2) out.push(await facts(args[i], args[i + 1]));
process.stdout.write(JSON.stringify(out));
