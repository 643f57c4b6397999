import { createPrivateKey, type KeyObject, sign, X509Certificate } from 'node:crypto';
import forge from 'node-forge';

/**
 * A CA certificate and key read for signing, whatever made them: the webhook's own RSA CAs and
 * the EC (P-256, P-384, P-521) and Ed25519 CAs someone else put in its Secret or files. node:crypto
 * reads and signs (node-forge only handles RSA keys); node-forge only encodes the certificate's
 * fields (ASN.1), which are the same whatever the key.
 */

/** Why a CA cannot sign the webhook's serving certificates: stable codes (logs, metrics, docs). */
export type AuthorityProblem = 'unreadable' | 'key-mismatch' | 'not-a-ca' | 'expired' | 'not-yet-valid' | 'unsupported-key';

/** A result whose failure says which check failed. */
export type AuthorityResult<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: string; readonly code: AuthorityProblem };

/** The signature a CA key makes: its AlgorithmIdentifier OID and the digest node:crypto signs with. */
interface SignatureAlgorithm {
  readonly oid: string;
  /** null: the key's own scheme (Ed25519). */
  readonly digest: string | null;
  /** RSA's AlgorithmIdentifier carries an explicit NULL; ECDSA's and Ed25519's carry nothing (RFC 5758, RFC 8410). */
  readonly nullParameters: boolean;
}

export interface SigningAuthority {
  readonly certPem: string;
  readonly keyPem: string;
  readonly certificate: X509Certificate;
  readonly key: KeyObject;
  /** The CA's subject, DER (binary string): the issuer of what it signs, byte for byte, as verifiers compare it. */
  readonly subjectDer: string;
  /** The CA's subjectKeyIdentifier (binary string), for the authorityKeyIdentifier of what it signs. */
  readonly keyIdentifier: string | undefined;
  readonly signature: SignatureAlgorithm;
}

const RSA_MIN_BITS = 2048;
const RSA_SHA256: SignatureAlgorithm = { oid: '1.2.840.113549.1.1.11', digest: 'sha256', nullParameters: true };
const EC_SIGNATURES: Readonly<Record<string, SignatureAlgorithm>> = {
  prime256v1: { oid: '1.2.840.10045.4.3.2', digest: 'sha256', nullParameters: false },
  secp384r1: { oid: '1.2.840.10045.4.3.3', digest: 'sha384', nullParameters: false },
  secp521r1: { oid: '1.2.840.10045.4.3.4', digest: 'sha512', nullParameters: false },
};
const ED25519: SignatureAlgorithm = { oid: '1.3.101.112', digest: null, nullParameters: false };

const OID_SUBJECT_KEY_IDENTIFIER = '2.5.29.14';
const OID_KEY_USAGE = '2.5.29.15';
/** keyCertSign: bit 5 of KeyUsage, in the first byte of the bits. */
const KEY_CERT_SIGN = 0x04;

const { Class, Type } = forge.asn1;

/** The signature a key can make that the API server (Go's crypto/x509) verifies, or why not. */
function signatureFor(key: KeyObject): AuthorityResult<SignatureAlgorithm> {
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'rsa':
      if ((details.modulusLength ?? 0) < RSA_MIN_BITS) return { ok: false, code: 'unsupported-key', error: `its RSA key has ${details.modulusLength ?? 0} bits, fewer than ${RSA_MIN_BITS}` };
      return { ok: true, value: RSA_SHA256 };
    case 'ec': {
      const algorithm = EC_SIGNATURES[details.namedCurve ?? ''];
      if (algorithm === undefined) return { ok: false, code: 'unsupported-key', error: `its EC key is on curve ${details.namedCurve ?? 'unknown'}, not P-256, P-384 or P-521` };
      return { ok: true, value: algorithm };
    }
    case 'ed25519':
      return { ok: true, value: ED25519 };
    default:
      return { ok: false, code: 'unsupported-key', error: `its key is ${key.asymmetricKeyType ?? 'of an unknown type'}: RSA (2048 bits or more), EC P-256, P-384, P-521 and Ed25519 can sign` };
  }
}

/** The children of a constructed ASN.1 node (none for a primitive one). */
function children(node: forge.asn1.Asn1 | undefined): forge.asn1.Asn1[] {
  return node !== undefined && Array.isArray(node.value) ? node.value : [];
}

function bytesOf(node: forge.asn1.Asn1 | undefined): string {
  return node !== undefined && typeof node.value === 'string' ? node.value : '';
}

/** What a CA's DER says that node:crypto does not: its raw subject, subjectKeyIdentifier and keyUsage. */
function readFields(certificate: X509Certificate): AuthorityResult<{ subjectDer: string; keyIdentifier: string | undefined; keyCertSign: boolean }> {
  try {
    const raw = certificate.raw.toString('binary');
    const tbs = children(children(forge.asn1.fromDer(raw))[0]);
    // version [0] is optional (absent in a v1 certificate): serial, signature, issuer, validity, subject follow.
    const first = tbs[0];
    const offset = first !== undefined && first.tagClass === Class.CONTEXT_SPECIFIC && first.type === 0 ? 1 : 0;
    const subject = tbs[offset + 4];
    if (subject === undefined) return { ok: false, code: 'unreadable', error: 'its certificate has no subject' };
    const subjectDer = forge.asn1.toDer(subject).getBytes();
    // The issuer of what it signs must be these very bytes: a subject that does not re-encode to them is refused.
    if (!raw.includes(subjectDer)) return { ok: false, code: 'unreadable', error: 'its subject is not DER' };
    let keyIdentifier: string | undefined;
    let keyCertSign = true;
    const extensions = children(children(tbs.find((node) => node.tagClass === Class.CONTEXT_SPECIFIC && node.type === 3))[0]);
    for (const extension of extensions) {
      const fields = children(extension);
      const oid = forge.asn1.derToOid(bytesOf(fields[0]));
      const value = bytesOf(fields[fields.length - 1]);
      if (oid === OID_SUBJECT_KEY_IDENTIFIER) {
        const identifier = bytesOf(forge.asn1.fromDer(value));
        keyIdentifier = identifier === '' ? undefined : identifier;
      } else if (oid === OID_KEY_USAGE) {
        // A BIT STRING, DER: tag, length, unused bits, then the bits (keyCertSign in the first byte).
        keyCertSign = value.charCodeAt(0) === Type.BITSTRING && ((value.charCodeAt(3) || 0) & KEY_CERT_SIGN) !== 0;
      }
    }
    return { ok: true, value: { subjectDer, keyIdentifier, keyCertSign } };
  } catch (error) {
    return { ok: false, code: 'unreadable', error: `its certificate cannot be read: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * Reads a CA certificate and key for signing serving certificates at `now`: the key parses and
 * belongs to the certificate, the certificate is a CA (basicConstraints, and keyUsage, when
 * present, allows keyCertSign), valid at `now`, and its key is of a type Go's crypto/x509 (the API
 * server) verifies. `code` says which check failed ({@link AuthorityProblem}).
 */
export function readCertificateAuthority(certPem: string, keyPem: string, now = new Date()): AuthorityResult<SigningAuthority> {
  let certificate: X509Certificate;
  let key: KeyObject;
  try {
    certificate = new X509Certificate(certPem);
  } catch {
    return { ok: false, code: 'unreadable', error: 'the CA certificate is not a PEM certificate' };
  }
  try {
    key = createPrivateKey(keyPem);
  } catch {
    return { ok: false, code: 'unreadable', error: 'the CA key is not a PEM private key' };
  }
  let belongs = false;
  try {
    belongs = certificate.checkPrivateKey(key);
  } catch {
    belongs = false;
  }
  if (!belongs) return { ok: false, code: 'key-mismatch', error: 'the CA certificate and key do not belong together' };
  if (!certificate.ca) return { ok: false, code: 'not-a-ca', error: 'the certificate is not a CA (basicConstraints CA:TRUE is missing)' };
  const signature = signatureFor(key);
  if (!signature.ok) return { ok: false, code: signature.code, error: `the CA cannot sign for the API server: ${signature.error}` };
  const fields = readFields(certificate);
  if (!fields.ok) return { ok: false, code: fields.code, error: `the CA cannot be used: ${fields.error}` };
  if (!fields.value.keyCertSign) return { ok: false, code: 'not-a-ca', error: 'the CA may not sign certificates (its keyUsage lacks keyCertSign)' };
  if (now < new Date(certificate.validFrom)) return { ok: false, code: 'not-yet-valid', error: `the CA is not valid before ${new Date(certificate.validFrom).toISOString()}` };
  if (now >= new Date(certificate.validTo)) return { ok: false, code: 'expired', error: `the CA expired at ${new Date(certificate.validTo).toISOString()}` };
  return { ok: true, value: { certPem, keyPem, certificate, key, signature: signature.value, ...fields.value } };
}

function algorithmIdentifier(signature: SignatureAlgorithm): forge.asn1.Asn1 {
  const oid = forge.asn1.create(Class.UNIVERSAL, Type.OID, false, forge.asn1.oidToDer(signature.oid).getBytes());
  const parameters = signature.nullParameters ? [forge.asn1.create(Class.UNIVERSAL, Type.NULL, false, '')] : [];
  return forge.asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [oid, ...parameters]);
}

/** node-forge's TBSCertificate encoder (typed here: @types/node-forge leaves it out). */
const tbsOf = (forge.pki as unknown as { getTBSCertificate(certificate: forge.pki.Certificate): forge.asn1.Asn1 }).getTBSCertificate;

/**
 * Signs `certificate` (its fields set with node-forge, issuer and signature left to this function)
 * with the CA: the issuer is the CA's subject byte for byte, the signature node:crypto's. Returns PEM.
 */
export function signCertificate(authority: SigningAuthority, certificate: forge.pki.Certificate): string {
  certificate.siginfo.algorithmOid = authority.signature.oid;
  const tbs = tbsOf(certificate);
  const fields = children(tbs);
  // version, serialNumber, signature, issuer, ...: forge wrote an RSA-style signature field and an empty issuer.
  fields[2] = algorithmIdentifier(authority.signature);
  fields[3] = forge.asn1.fromDer(authority.subjectDer);
  const tbsDer = Buffer.from(forge.asn1.toDer(tbs).getBytes(), 'binary');
  const signature = sign(authority.signature.digest, tbsDer, authority.key);
  const der = forge.asn1.toDer(
    forge.asn1.create(Class.UNIVERSAL, Type.SEQUENCE, true, [
      tbs,
      algorithmIdentifier(authority.signature),
      forge.asn1.create(Class.UNIVERSAL, Type.BITSTRING, false, `\u0000${signature.toString('binary')}`),
    ]),
  ).getBytes();
  return new X509Certificate(Buffer.from(der, 'binary')).toString();
}
