// Unknown-field detection for Kubernetes objects.
//
// kubernetes-models validates types, required fields and enums with validators compiled from the
// published OpenAPI schemas, but those schemas leave objects open, so a misspelt or misplaced
// field passes. The API server (kubectl's default --validate=strict) rejects such a field. The
// same packages declare every object's fields in their generated TypeScript declarations; this
// module reads those declarations into a field index and walks an object against it. No library
// exposes the field lists in a usable form, hence this small reader of the generated files.

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** @typedef {{ leaf: true } | { ref: string, file: string } | { array: Type } | { map: Type } | { object: Map<string, Type> }} Type */

const LEAF = Object.freeze({ leaf: true });

export class FieldIndex {
  /** @param {string[]} packageDirs directories of kubernetes-models style packages */
  constructor(packageDirs) {
    /** global alias (IIoK8sApiCoreV1Container) -> { file, local } */
    this.aliases = new Map();
    /** file -> (local interface name -> field map) */
    this.interfaces = new Map();
    for (const dir of packageDirs) {
      this.#scan(dir, dir);
    }
  }

  #scan(root, dir) {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name !== "_schemas" && entry.name !== "node_modules") {
          this.#scan(root, path);
        }
      } else if (entry.name.endsWith(".d.ts")) {
        this.#read(path);
      }
    }
  }

  #read(file) {
    const text = readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\//g, "").replace(/^\s*\/\/.*$/gm, "");
    const locals = new Map();
    const header = /export interface (\w+)(?:<[^>{]*>)?(?:\s+extends\s+[^{]+)?\s*\{/g;
    let match;
    while ((match = header.exec(text)) !== null) {
      const end = closing(text, header.lastIndex - 1);
      locals.set(match[1], parseMembers(text.slice(header.lastIndex, end), file));
      header.lastIndex = end;
    }
    if (locals.size > 0) {
      this.interfaces.set(file, locals);
    }
    for (const list of text.matchAll(/export type \{([^}]*)\}/g)) {
      for (const pair of list[1].split(",")) {
        const [local, global] = pair.split(/\s+as\s+/).map((s) => s.trim());
        if (local && global) {
          this.aliases.set(global, { file, local });
        }
      }
    }
  }

  /** The fields of the interface `I<kind>` declared in `file`, or undefined. */
  rootType(file, kind) {
    const fields = this.interfaces.get(file)?.get(`I${kind}`);
    return fields && { object: fields };
  }

  /** A named type as an object type, or undefined when it is not an interface (a scalar alias). */
  resolve(name, fromFile) {
    const alias = this.aliases.get(name);
    const fields = alias
      ? this.interfaces.get(alias.file)?.get(alias.local)
      : this.interfaces.get(fromFile)?.get(name);
    return fields && { object: fields };
  }

  /**
   * Reports every field of `value` that `type` does not declare, at any depth.
   * @returns {string[]} messages "<json pointer>: unknown field "<name>""
   */
  unknownFields(value, type, path = "") {
    const problems = [];
    this.#walk(value, type, path, problems);
    return problems;
  }

  #walk(value, type, path, problems) {
    if (value === null || value === undefined) {
      return;
    }
    if ("ref" in type) {
      const resolved = this.resolve(type.ref, type.file);
      if (resolved) {
        this.#walk(value, resolved, path, problems);
      }
    } else if ("array" in type) {
      if (Array.isArray(value)) {
        value.forEach((item, i) => this.#walk(item, type.array, `${path}/${i}`, problems));
      }
    } else if ("map" in type) {
      if (isPlainObject(value)) {
        for (const [key, item] of Object.entries(value)) {
          this.#walk(item, type.map, `${path}/${pointer(key)}`, problems);
        }
      }
    } else if ("object" in type && isPlainObject(value)) {
      for (const [key, item] of Object.entries(value)) {
        const field = type.object.get(key);
        if (field === undefined) {
          problems.push(`${path || "/"}: unknown field "${key}"`);
        } else {
          this.#walk(item, field, `${path}/${pointer(key)}`, problems);
        }
      }
    }
  }
}

function isPlainObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function pointer(key) {
  return key.replace(/~/g, "~0").replace(/\//g, "~1");
}

const OPEN = { "{": "}", "<": ">", "(": ")", "[": "]" };

/** Index of the bracket closing the one at `start`. */
function closing(text, start) {
  const stack = [];
  for (let i = start; i < text.length; i++) {
    const c = text[i];
    if (c in OPEN) {
      stack.push(OPEN[c]);
    } else if (c === stack[stack.length - 1]) {
      stack.pop();
      if (stack.length === 0) {
        return i;
      }
    } else if (c === '"' || c === "'") {
      i = text.indexOf(c, i + 1);
    }
  }
  throw new Error("unbalanced declaration");
}

/** Splits `text` on `separator` where no bracket or quote is open. */
function splitTopLevel(text, separator) {
  const parts = [];
  let depth = 0;
  let quote = null;
  let start = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      quote = c === quote ? null : quote;
    } else if (c === '"' || c === "'") {
      quote = c;
    } else if (c in OPEN) {
      depth++;
    } else if (c === "}" || c === ">" || c === ")" || c === "]") {
      depth--;
    } else if (c === separator && depth === 0) {
      parts.push(text.slice(start, i));
      start = i + 1;
    }
  }
  parts.push(text.slice(start));
  return parts.map((p) => p.trim()).filter((p) => p.length > 0);
}

/** `"name"?: Type;` members of an interface or an inline object type. */
function parseMembers(body, file) {
  const fields = new Map();
  for (const member of splitTopLevel(body, ";")) {
    const m = /^(?:readonly\s+)?(?:"([^"]+)"|'([^']+)'|([A-Za-z_$][\w$]*))\??\s*:\s*([\s\S]+)$/.exec(member);
    if (m) {
      fields.set(m[1] ?? m[2] ?? m[3], parseType(m[4], file));
    }
  }
  return fields;
}

/** @returns {Type} */
function parseType(source, file) {
  const text = source.trim();
  const union = splitTopLevel(text, "|").filter((p) => p !== "null" && p !== "undefined");
  if (union.length !== 1) {
    return LEAF; // string literal unions, int-or-string and the like
  }
  const t = union[0];
  if (t.startsWith("Array<") && closing(t, 5) === t.length - 1) {
    return { array: parseType(t.slice(6, -1), file) };
  }
  if (t.endsWith("[]")) {
    return { array: parseType(t.slice(0, -2), file) };
  }
  if (t.startsWith("{") && closing(t, 0) === t.length - 1) {
    const inner = t.slice(1, -1).trim();
    const index = /^\[\s*\w+\s*:\s*string\s*\]\s*:\s*([\s\S]+?);?$/.exec(inner);
    if (index) {
      return { map: parseType(index[1], file) };
    }
    return { object: parseMembers(inner, file) };
  }
  if (/^[A-Za-z_$][\w$]*$/.test(t) && !["string", "number", "boolean", "any", "unknown", "object"].includes(t)) {
    return { ref: t, file };
  }
  return LEAF;
}
