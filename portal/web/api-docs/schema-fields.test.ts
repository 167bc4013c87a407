import { describe, expect, it } from 'vitest';
import { schemaFields } from './schema-fields.ts';

describe('an OpenAPI schema as a field list', () => {
  it('lists fields with type, required, description and example, nested objects and arrays flattened, refs followed', () => {
    const components = {
      Item: {
        type: 'object',
        required: ['msisdn'],
        properties: { msisdn: { type: 'string', description: '号码', example: '138****8000' }, state: { enum: ['ok', 'failed'] } },
      },
    };
    const schema = {
      type: 'object',
      required: ['total'],
      properties: {
        total: { type: 'integer', description: '总数' },
        items: { type: 'array', items: { $ref: '#/components/schemas/Item' } },
        at: { type: ['string', 'null'], format: 'date-time' },
      },
    };
    expect(schemaFields(schema, components)).toEqual([
      { name: 'total', type: 'integer', required: true, description: '总数', example: '' },
      { name: 'items', type: 'object[]', required: false, description: '', example: '' },
      { name: 'items[].msisdn', type: 'string', required: true, description: '号码', example: '"138****8000"' },
      { name: 'items[].state', type: '"ok" | "failed"', required: false, description: '', example: '' },
      { name: 'at', type: 'string | null (date-time)', required: false, description: '', example: '' },
    ]);
  });

  it('stops at the depth limit on a schema that refers to itself', () => {
    const components = { Node: { type: 'object', properties: { child: { $ref: '#/components/schemas/Node' } } } };
    expect(schemaFields({ $ref: '#/components/schemas/Node' }, components).map((f) => f.name)).toEqual([
      'child',
      'child.child',
      'child.child.child',
    ]);
  });

  it('reads a referred schema written with allOf (nullable, described beside the reference) as one', () => {
    const components = { Upload: { type: 'object', required: ['rows'], properties: { rows: { type: 'integer', description: '行数' } } } };
    const schema = {
      type: 'object',
      properties: { upload: { allOf: [{ $ref: '#/components/schemas/Upload' }, { type: ['object', 'null'], description: '文件报告' }] } },
    };
    expect(schemaFields(schema, components)).toEqual([
      { name: 'upload', type: 'object | null', required: false, description: '文件报告', example: '' },
      { name: 'upload.rows', type: 'integer', required: true, description: '行数', example: '' },
    ]);
  });
});
