/** A starting input for a JSON Schema: defaults and examples where given, else empty values. */

type Schema = Readonly<Record<string, unknown>>;

function isSchema(value: unknown): value is Schema {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function skeleton(schema: Schema, depth = 0): unknown {
  if ('default' in schema) return schema.default;
  if (Array.isArray(schema.examples) && schema.examples.length > 0) return schema.examples[0];
  if (depth > 4) return null;
  const type = Array.isArray(schema.type) ? (schema.type as unknown[])[0] : schema.type;
  switch (type) {
    case 'object': {
      const properties = isSchema(schema.properties) ? schema.properties : {};
      const out: Record<string, unknown> = {};
      for (const [name, property] of Object.entries(properties)) {
        if (isSchema(property)) out[name] = skeleton(property, depth + 1);
      }
      return out;
    }
    case 'array':
      return [];
    case 'string':
      return Array.isArray(schema.enum) ? schema.enum[0] : '';
    case 'number':
    case 'integer':
      return typeof schema.minimum === 'number' ? schema.minimum : 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}
