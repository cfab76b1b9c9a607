/**
 * Reads the signatures of class methods from TypeScript source text. Decorator metadata has no
 * parameter names, optionality or literal unions (DESIGN.md §3), so the CLI options of an
 * entrypoint come from the source, parsed with SWC (no type checking).
 */
import type {
  ClassDeclaration,
  ClassExpression,
  ClassMember,
  ClassMethod,
  ClassProperty,
  Decorator,
  Expression,
  Module,
  Param,
  Pattern,
  Span,
  TsParameterProperty,
  TsType,
  TsTypeAliasDeclaration,
  TsTypeAnnotation,
  VariableDeclarator,
} from "@swc/core";
import type { ParamManifest, ParamType } from "@stubrun/protocol";
import { parseSource } from "./source-parser";
import { TypeIndex } from "./type-index";

export interface MethodSignature {
  className: string;
  methodName: string;
  params: ParamManifest[];
  /** The TSDoc summary: the comment's text before its first @tag. */
  description?: string;
}

/** A class property marked `@stub.parameter()`, as an option and the manifest's `classParams` see it. */
export interface PropertySignature {
  className: string;
  param: ParamManifest;
}

/** What the per-parameter helpers need to know about the file. */
interface FileContext {
  /** Source text between two swc positions. */
  text(start: number, end: number): string;
  /** Source text from the beginning of the file up to an swc position. */
  before(pos: number): string;
  /** The file's own type aliases, by name (nested ones too). */
  aliases: Map<string, TsType>;
  fileName: string;
  /** Type names across local files: imports, re-exports, enums. */
  types: TypeIndex;
}

/**
 * The signatures of every method of every class (declared or assigned to a variable) in the file.
 * Type names it does not declare are looked up in `types` (the program's other local files).
 */
export function parseSignatures(source: string, fileName: string, types = new TypeIndex(new Map([[fileName, source]]))): MethodSignature[] {
  return parseClassMembers(source, fileName, types).methods;
}

/** The method signatures and the `@stub.parameter()` properties of every class in the file. */
export function parseClassMembers(
  source: string,
  fileName: string,
  types = new TypeIndex(new Map([[fileName, source]])),
): { methods: MethodSignature[]; parameters: PropertySignature[] } {
  const { text, module } = parseSource(source, fileName, { last: true });
  types.remember(fileName, module);
  const classes: { name: string; members: ClassMember[] }[] = [];
  const aliases = new Map<string, TsType>();
  const classNames = new WeakMap<object, string>();
  walk(module, (node) => {
    if (node.type === "TsTypeAliasDeclaration") aliases.set(node.id.value, node.typeAnnotation);
    if (node.type === "VariableDeclarator" && node.init?.type === "ClassExpression" && node.id.type === "Identifier") {
      classNames.set(node.init, node.id.value);
    }
    if (node.type === "ClassDeclaration" || node.type === "ClassExpression") {
      const name = node.identifier?.value ?? classNames.get(node);
      if (name) classes.push({ name, members: node.body as ClassMember[] });
    }
  });
  const ctx = { ...sourceSlicer(text, module), aliases, fileName, types };
  const methods = classes.flatMap(({ name, members }) =>
    members
      .filter((m): m is ClassMethod => m.type === "ClassMethod" && m.kind === "method" && m.key.type !== "Computed")
      .map((method) => methodSignature(name, method, ctx)),
  );
  const parameters = classes.flatMap(({ name, members }) =>
    members
      .filter((m): m is ClassProperty => m.type === "ClassProperty" && !m.isStatic && m.key.type === "Identifier" && (m.decorators ?? []).some(isParameterDecorator))
      .map((property) => ({ className: name, param: propertyParam(property, ctx) })),
  );
  return { methods, parameters };
}

/** `@stub.parameter(...)` (any stub's name), or a bare `@parameter(...)`. */
function isParameterDecorator(decorator: Decorator): boolean {
  const call = decorator.expression;
  if (call.type !== "CallExpression") return false;
  const callee = call.callee;
  if (callee.type === "Identifier") return callee.value === "parameter";
  return callee.type === "MemberExpression" && callee.property.type === "Identifier" && callee.property.value === "parameter";
}

/**
 * A `@stub.parameter()` property as a parameter: its type from the annotation (literal unions and
 * enums as choices), else from its initializer or its `default` option; required unless it has
 * an initializer, a `default`, or is marked `?`.
 */
function propertyParam(property: ClassProperty, ctx: FileContext): ParamManifest {
  const name = (property.key as { value: string }).value;
  const call = (property.decorators ?? []).find(isParameterDecorator)!.expression as Extract<Expression, { type: "CallExpression" }>;
  const optionsArg = call.arguments[0]?.expression;
  const defaultOption =
    optionsArg?.type === "ObjectExpression"
      ? optionsArg.properties.find(
          (p): p is Extract<typeof p, { type: "KeyValueProperty" }> =>
            p.type === "KeyValueProperty" && ((p.key.type === "Identifier" && p.key.value === "default") || (p.key.type === "StringLiteral" && p.key.value === "default")),
        )?.value
      : undefined;
  const initial = property.value ?? defaultOption ?? undefined;
  const annotation = property.typeAnnotation?.typeAnnotation;
  const kind = annotation ? annotatedType(annotation, ctx) : { type: initial ? typeOfDefault(initial) : ("json" as ParamType), allowsUndefined: false };
  const doc = parseDoc(docBefore(property.decorators ?? [], property.key.span.start, property.span.start, ctx));
  return {
    name,
    type: kind.type,
    ...("choices" in kind && kind.choices ? { choices: kind.choices } : {}),
    ...("numeric" in kind && kind.numeric ? { numeric: true } : {}),
    required: !initial && !property.isOptional && !kind.allowsUndefined,
    ...(initial ? { defaultText: ctx.text(spanOf(initial).start, spanOf(initial).end) } : {}),
    ...(doc.summary ? { description: doc.summary } : {}),
  };
}

function methodSignature(className: string, method: ClassMethod, ctx: FileContext): MethodSignature {
  const doc = parseDoc(docComment(method, ctx));
  const params = method.function.params.map((p) => paramManifest(p, ctx, doc.params));
  const methodName = String((method.key as { value: string | number }).value);
  return { className, methodName, params, ...(doc.summary ? { description: doc.summary } : {}) };
}

/**
 * swc positions are UTF-8 byte offsets from a base that is 1 in the installed version but, in
 * some versions, grows with every parse. The Module's span starts at the first token (leading
 * comments excluded, a shebang included), which pins the base.
 */
function sourceSlicer(text: string, module: Module): Pick<FileContext, "text" | "before"> {
  const bytes = Buffer.from(text);
  const leading = /^(?:\s+|\/\/[^\n]*|\/\*[\s\S]*?\*\/)*/.exec(text)![0];
  const base = module.span.start - Buffer.byteLength(leading);
  return {
    text: (start, end) => bytes.subarray(start - base, end - base).toString(),
    before: (pos) => bytes.subarray(0, pos - base).toString(),
  };
}

/** The nodes parseSignatures looks for; walk passes every node, and the checks on `type` pick these. */
type VisitedNode = TsTypeAliasDeclaration | VariableDeclarator | ClassDeclaration | ClassExpression;

/** Calls visit on every AST node below root, parents before children. */
function walk(root: unknown, visit: (node: VisitedNode) => void): void {
  if (Array.isArray(root)) {
    for (const item of root) walk(item, visit);
  } else if (root !== null && typeof root === "object") {
    if (typeof (root as { type?: unknown }).type === "string") visit(root as VisitedNode);
    for (const [key, value] of Object.entries(root)) if (key !== "span") walk(value, visit);
  }
}

function paramManifest(param: Param | TsParameterProperty, ctx: FileContext, docs: Map<string, string>): ParamManifest {
  let pat: Pattern = param.type === "TsParameterProperty" ? param.param : param.pat;
  let defaultValue: Expression | undefined;
  if (pat.type === "AssignmentPattern") {
    defaultValue = pat.right;
    pat = pat.left;
  }
  const annotation = (pat as { typeAnnotation?: TsTypeAnnotation }).typeAnnotation;
  let name: string;
  let kind: { type: ParamType; choices?: string[]; numeric?: boolean; allowsUndefined?: boolean };
  if (pat.type === "RestElement") {
    name = pat.argument.type === "Identifier" ? pat.argument.value : ctx.text(spanOf(pat.argument).start, spanOf(pat.argument).end);
    kind = { type: "json", allowsUndefined: true };
  } else {
    // Destructuring patterns are named by their text, without the type annotation.
    name = pat.type === "Identifier" ? pat.value : ctx.text(spanOf(pat).start, annotation?.span.start ?? spanOf(pat).end).trim();
    kind = pat.type !== "Identifier" ? { type: "json" }
      : annotation ? annotatedType(annotation.typeAnnotation, ctx)
      : { type: defaultValue ? typeOfDefault(defaultValue) : "json" };
  }
  const optional = (pat as { optional?: boolean }).optional === true;
  const description = docs.get(name);
  return {
    name,
    type: kind.type,
    ...(kind.choices ? { choices: kind.choices } : {}),
    ...(kind.numeric ? { numeric: true } : {}),
    required: !defaultValue && !optional && !kind.allowsUndefined,
    ...(defaultValue ? { defaultText: ctx.text(spanOf(defaultValue).start, spanOf(defaultValue).end) } : {}),
    ...(description ? { description } : {}),
  };
}

// swc's types leave `span` off a few JSX nodes, which makes it missing on Pattern and Expression.
function spanOf(node: Pattern | Expression): Span {
  return (node as { span: Span }).span;
}

function annotatedType(type: TsType, ctx: FileContext): { type: ParamType; choices?: string[]; numeric?: boolean; allowsUndefined: boolean } {
  const members = unionMembers(type, ctx.fileName, ctx, new Set());
  const allowsUndefined = members.some((t) => t.type === "TsKeywordType" && t.kind === "undefined");
  const rest = members.filter((t) => !(t.type === "TsKeywordType" && (t.kind === "undefined" || t.kind === "null")));
  const literals = rest.map((t) => (t.type === "TsLiteralType" && (t.literal.type === "StringLiteral" || t.literal.type === "NumericLiteral") ? t.literal.value : undefined));
  if (rest.length > 0 && literals.every((v) => typeof v === "string")) return { type: "choice", choices: literals as string[], allowsUndefined };
  // Numbers only (`1 | 2 | 3`, a numeric enum): choices too, passed as numbers.
  if (rest.length > 0 && literals.every((v) => typeof v === "number")) return { type: "choice", choices: literals.map(String), numeric: true, allowsUndefined };
  const types = new Set(rest.map(simpleType));
  return { type: types.size === 1 ? [...types][0] : "json", allowsUndefined };
}

/**
 * The members of a union, with parentheses, type aliases and enums resolved: the file's own, and
 * those imported from other local files (an alias is read in the file that declares it).
 */
function unionMembers(type: TsType, file: string, ctx: FileContext, seen: Set<string>): TsType[] {
  if (type.type === "TsUnionType") return type.types.flatMap((t) => unionMembers(t, file, ctx, seen));
  if (type.type === "TsParenthesizedType") return unionMembers(type.typeAnnotation, file, ctx, seen);
  if (type.type === "TsTypeReference" && type.typeName.type === "Identifier" && !type.typeParams) {
    const name = type.typeName.value;
    const key = `${file}#${name}`;
    if (seen.has(key)) return [type];
    const own = file === ctx.fileName ? ctx.aliases.get(name) : undefined;
    const resolved = own ? { kind: "alias" as const, type: own, file } : ctx.types.resolve(name, file);
    if (resolved?.kind === "alias") return unionMembers(resolved.type, resolved.file, ctx, new Set(seen).add(key));
    if (resolved?.kind === "enum") return resolved.values.map(literalType);
  }
  return [type];
}

/** An enum member's value as the literal type it is. */
function literalType(value: string | number): TsType {
  const span = { start: 0, end: 0, ctxt: 0 };
  const literal = typeof value === "string" ? { type: "StringLiteral", value, span } : { type: "NumericLiteral", value, span };
  return { type: "TsLiteralType", literal, span } as unknown as TsType;
}

function simpleType(type: TsType): ParamType {
  if (type.type === "TsKeywordType" && (type.kind === "number" || type.kind === "string" || type.kind === "boolean")) return type.kind;
  if (type.type === "TsLiteralType" && type.literal.type === "BooleanLiteral") return "boolean";
  if (type.type === "TsTypeReference" && type.typeName.type === "Identifier" && type.typeName.value === "Date") return "date";
  if (type.type === "TsTypeReference" && type.typeName.type === "Identifier" && type.typeName.value === "Request") return "request";
  return "json";
}

function typeOfDefault(value: Expression): ParamType {
  switch (value.type) {
    case "NumericLiteral":
      return "number";
    case "UnaryExpression":
      return (value.operator === "-" || value.operator === "+") && value.argument.type === "NumericLiteral" ? "number" : "json";
    case "StringLiteral":
      return "string";
    case "TemplateLiteral":
      return value.expressions.length === 0 ? "string" : "json";
    case "BooleanLiteral":
      return "boolean";
    case "NewExpression":
      return value.callee.type === "Identifier" && value.callee.value === "Date" ? "date" : "json";
    default:
      return "json";
  }
}

/**
 * The method's `/** ... *\/` comment. parseSync's AST carries no comments, so this looks in the
 * source: between the decorators and the name, else right before the method (whose span starts
 * at its first decorator).
 */
function docComment(method: ClassMethod, ctx: FileContext): string | undefined {
  return docBefore(method.function.decorators ?? [], method.key.span.start, method.span.start, ctx);
}

/** A class member's doc comment: between its decorators and its name, else right before it. */
function docBefore(decorators: Decorator[], keyStart: number, memberStart: number, ctx: FileContext): string | undefined {
  const afterDecorators = decorators.length > 0 ? decorators[decorators.length - 1].span.end : memberStart;
  const inner = ctx.text(afterDecorators, keyStart).match(/\/\*\*[\s\S]*?\*\//g);
  if (inner) return inner[inner.length - 1];
  const before = ctx.before(memberStart).trimEnd();
  if (!before.endsWith("*/")) return undefined;
  const open = before.lastIndexOf("/**");
  // A plain `/* */` comment right before the method is not its doc comment.
  if (open < 0 || before.slice(open + 3, -2).includes("*/")) return undefined;
  return before.slice(open);
}

/** The summary and the `@param name text` descriptions of a TSDoc comment. */
function parseDoc(comment: string | undefined): { summary?: string; params: Map<string, string> } {
  const params = new Map<string, string>();
  if (!comment) return { params };
  // Drop each line's leading `*`, then split where a block tag starts (`{@link}` is inline).
  const body = " " + comment.slice(3, -2).replace(/^[ \t]*\*/gm, "");
  const [summaryText, ...blocks] = body.split(/\s(?=@[A-Za-z])/);
  for (const block of blocks) {
    // `@param name text`, also `@param name - text` (TSDoc) and `@param {type} [name=x] text` (JSDoc).
    const match = /^@param\s+(?:\{[^}]*\}\s*)?\[?([\w$]+)\S*\s*(?:-\s+)?([\s\S]*)$/.exec(block);
    const text = match && collapse(match[2]);
    if (text) params.set(match[1], text);
  }
  const summary = collapse(summaryText);
  return summary ? { summary, params } : { params };
}

function collapse(text: string): string {
  return text.replace(/\s+/g, " ").trim();
}
