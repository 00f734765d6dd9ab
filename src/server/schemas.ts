/**
 * @module JSON schemas shared by routes: they validate input and document the API (OpenAPI).
 */
import { PERMISSIONS, ROLES } from '../domain/roles.ts';

export const errorSchema = {
  type: 'object',
  properties: {
    error: { type: 'string', description: 'stable code: validation, not_found, forbidden, invalid_credentials, …' },
    message: { type: 'string', description: 'what is wrong, naming the field' },
    details: { type: 'array', items: { type: 'object', properties: { field: { type: 'string' }, message: { type: 'string' } } } },
  },
} as const;

export const principalSchema = {
  type: 'object',
  properties: {
    userId: { type: 'string' },
    username: { type: 'string' },
    displayName: { type: 'string' },
    role: { type: 'string', enum: [...ROLES] },
    jurisdiction: { type: 'string' },
    mustChangePassword: { type: 'boolean' },
    permissions: { type: 'array', items: { type: 'string', enum: [...PERMISSIONS] } },
  },
} as const;

export const publicUserSchema = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    username: { type: 'string' },
    displayName: { type: 'string' },
    role: { type: 'string', enum: [...ROLES] },
    jurisdiction: { type: 'string' },
    disabled: { type: 'boolean' },
    locked: { type: 'boolean' },
    mustChangePassword: { type: 'boolean' },
    totpEnrolled: { type: 'boolean' },
    createdAt: { type: 'string' },
    updatedAt: { type: 'string' },
  },
} as const;

export const credentialsSchema = {
  type: 'object',
  properties: {
    user: publicUserSchema,
    oneTimePassword: { type: 'string', description: 'shown once; must be changed at first login' },
    totpSecret: { type: ['string', 'null'], description: 'base32 secret for the authenticator app, shown once' },
    totpUri: { type: ['string', 'null'] },
  },
} as const;

/** `?purpose=…&caseId=…`: every trajectory or contact read names why and for which case. */
export const purposeProperties = {
  purpose: { type: 'string', minLength: 4, maxLength: 500, description: 'why the data is read (audited)' },
  caseId: { type: 'string', minLength: 1, maxLength: 100, description: 'the case the read serves (audited)' },
} as const;

/**
 * The same fields for reads that check the purpose themselves (lead lists, a person's page): the schema
 * only bounds them, so a missing or short purpose reaches the handler, which refuses it with a clear
 * 400 and writes the refusal to the audit trail (a schema error would leave no row).
 */
export const checkedPurposeProperties = {
  purpose: { type: 'string', maxLength: 500, description: 'why the data is read (required, at least 4 characters; audited, refusals too)' },
  caseId: { type: 'string', maxLength: 100, description: 'the case the read serves (audited)' },
} as const;

export const idParam = {
  type: 'object',
  required: ['id'],
  properties: { id: { type: 'string', minLength: 1, maxLength: 200 } },
} as const;
