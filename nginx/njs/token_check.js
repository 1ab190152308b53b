// Bearer access tokens checked at the gateway, before any request reaches a service (docs/architecture.md,
// "Tokens checked at the gateway"). Written for njs 0.7 (Debian 12's libnginx-mod-http-js), which keeps no state
// between requests: nginx's proxy cache keeps both the auth service's JWKS and each verified token's verdict.
//
// The gateway asks for a verdict with auth_request (gateway/token_check.conf): a cached subrequest keyed by cacheKey,
// whose upstream is check, in the gateway's loopback verifier server; a token it has seen in the last minute costs no
// signature check and no JavaScript but cacheKey. A refused token gets refuse, the services' own 401.

import hashes from 'crypto';

const ALGORITHM = 'RS256';
const SIGNATURE = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
const BEARER = /^Bearer +([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)$/;
// The subject the todo service stores as the owner id (todos/authentication.py VALID_OWNER_ID).
const SUBJECT = /^[\x21-\x7e]{1,64}$/;
// The last second a datetime holds (9999-12-31T23:59:59Z), as the services check.
const LAST_TIMESTAMP = 253402300799;
const JWKS = '/_gateway/jwks';
const JWKS_REFETCH = '/_gateway/jwks-refetch';
// An RSA public key's SubjectPublicKeyInfo: the rsaEncryption algorithm identifier, then the key as a bit string.
const RSA_ALGORITHM_IDENTIFIER = [0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00];

function derLength(length) {
    if (length < 0x80) {
        return [length];
    }
    if (length < 0x100) {
        return [0x81, length];
    }
    return [0x82, length >> 8, length & 0xff];
}

function derElement(tag, content) {
    return Buffer.concat([Buffer.from([tag].concat(derLength(content.length))), content]);
}

function derUnsignedInteger(bytes) {
    let start = 0;
    while (start < bytes.length - 1 && bytes[start] === 0) {
        start++;
    }
    const magnitude = bytes.slice(start);
    return derElement(0x02, magnitude[0] & 0x80 ? Buffer.concat([Buffer.from([0]), magnitude]) : magnitude);
}

// njs 0.7.9's crypto.subtle.importKey takes spki and pkcs8, not jwk (0.7.10): build the SPKI from n and e.
function spkiFromJwk(jwk) {
    const rsaPublicKey = derElement(
        0x30,
        Buffer.concat([
            derUnsignedInteger(Buffer.from(jwk.n, 'base64url')),
            derUnsignedInteger(Buffer.from(jwk.e, 'base64url')),
        ])
    );
    const bitString = derElement(0x03, Buffer.concat([Buffer.from([0]), rsaPublicKey]));
    return derElement(0x30, Buffer.concat([Buffer.from(RSA_ALGORITHM_IDENTIFIER), bitString]));
}

function decodeJson(segment) {
    try {
        const value = JSON.parse(Buffer.from(segment, 'base64url').toString());
        return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
    } catch (e) {
        return null;
    }
}

function isBase64url(text) {
    return typeof text === 'string' && /^[A-Za-z0-9_-]+$/.test(text);
}

// The JWK of kid from a JWKS location, or null (the auth service unreachable counts as an unknown key).
async function findKey(r, location, kid) {
    const reply = await r.subrequest(location, { method: 'GET' });
    if (reply.status !== 200) {
        r.warn(`token check: ${location} answered ${reply.status}`);
        return null;
    }
    let keys;
    try {
        keys = JSON.parse(reply.responseBody).keys;
    } catch (e) {
        r.warn(`token check: ${location} is not a JWKS`);
        return null;
    }
    if (!Array.isArray(keys)) {
        return null;
    }
    const found = keys.find((key) => key && key.kid === kid && key.kty === 'RSA');
    return found && isBase64url(found.n) && isBase64url(found.e) ? found : null;
}

function audienceMatches(audience, expected) {
    // A list must hold strings only, as PyJWT requires in the services.
    if (Array.isArray(audience)) {
        return audience.every((item) => typeof item === 'string') && audience.indexOf(expected) !== -1;
    }
    return audience === expected;
}

// A time claim the services accept: a number a datetime holds (0 to the end of 9999), not a string or a boolean.
function isTime(value) {
    return typeof value === 'number' && value >= 0 && value <= LAST_TIMESTAMP;
}

// Why the claims are refused, or '' when they are acceptable.
function claimsRefusal(r, claims) {
    const now = Date.now() / 1000;
    const leeway = Number(r.variables.token_leeway) || 0;
    if (typeof claims.exp !== 'number' || claims.exp + leeway <= now) {
        return 'expired';
    }
    // A time no datetime holds (past 9999-12-31, negative): the services refuse it too, where it once made a 500.
    if (!isTime(claims.exp)) {
        return 'malformed';
    }
    if (claims.nbf !== undefined && (!isTime(claims.nbf) || claims.nbf - leeway > now)) {
        return 'not_yet_valid';
    }
    // PyJWT refuses an iat in the future (beyond the leeway) or not a number; so does the gateway, which let such a
    // token spend its subject's rate-limit budget before the service refused it.
    if (claims.iat !== undefined && (!isTime(claims.iat) || claims.iat - leeway > now)) {
        return 'not_yet_valid';
    }
    if (claims.iss !== r.variables.token_issuer) {
        return 'issuer';
    }
    if (!audienceMatches(claims.aud, r.variables.token_audience)) {
        return 'audience';
    }
    if (claims.token_type !== 'access') {
        return 'wrong_type';
    }
    if (typeof claims.sub !== 'string' || !SUBJECT.test(claims.sub) || typeof claims.jti !== 'string') {
        return 'no_subject';
    }
    return '';
}

// Why the token is refused, or '' when it is valid.
async function tokenRefusal(r, match) {
    const header = decodeJson(match[1]);
    const claims = decodeJson(match[2]);
    if (!header || !claims) {
        return 'malformed';
    }
    // Checked before any key lookup, so a forged header (alg none, HS256) never costs a JWKS fetch.
    if (header.alg !== ALGORITHM) {
        return 'algorithm';
    }
    // RFC 7515 4.1.11: a verifier must refuse a token whose crit names extensions it does not process, and this one
    // processes none (PyJWT in the services refuses them too).
    if (header.crit !== undefined) {
        return 'malformed';
    }
    if (typeof header.kid !== 'string' || !header.kid || header.kid.length > 100) {
        return 'no_key_id';
    }
    // Claims first: an expired or foreign token costs no signature check and no fetch.
    const refusal = claimsRefusal(r, claims);
    if (refusal) {
        return refusal;
    }
    // An unknown kid asks once more, from a location whose cache is the refetch floor: a flood of unknown kids
    // costs the auth service at most one JWKS request per floor.
    const jwk = (await findKey(r, JWKS, header.kid)) || (await findKey(r, JWKS_REFETCH, header.kid));
    if (!jwk) {
        return 'unknown_key';
    }
    let valid;
    try {
        const key = await crypto.subtle.importKey('spki', spkiFromJwk(jwk), SIGNATURE, false, ['verify']);
        valid = await crypto.subtle.verify(
            SIGNATURE,
            key,
            Buffer.from(match[3], 'base64url'),
            Buffer.from(`${match[1]}.${match[2]}`)
        );
    } catch (e) {
        r.warn(`token check: key ${header.kid} unusable: ${e}`);
        return 'unknown_key';
    }
    if (!valid) {
        return 'signature';
    }
    return '';
}

// The verifier (js_content of /_gateway/token-check, asked only through the gateway's cached /_gateway/token
// subrequest, gateway/token_check.conf): 200 with the verified subject in X-Token-Subject, cacheable until the token
// expires (at most the location's minute), or 401 with the reason in X-Token-Refusal. The gateway's auth_request
// reads both headers (auth_request_set) from the cache, without running any JavaScript of this file but cacheKey.
async function check(r) {
    const match = BEARER.exec(r.headersIn.Authorization || '');
    const refusal = match ? await tokenRefusal(r, match) : 'malformed';
    r.headersOut['Content-Type'] = 'text/plain';
    if (refusal) {
        r.headersOut['X-Token-Refusal'] = refusal;
        r.return(401, refusal);
        return;
    }
    const claims = decodeJson(match[2]);
    const lifetime = Math.floor(claims.exp - Date.now() / 1000);
    // X-Accel-Expires tells nginx's cache how long to keep the verdict: never past the token's own expiry.
    r.headersOut['X-Accel-Expires'] = String(Math.max(0, Math.min(60, lifetime)));
    r.headersOut['X-Token-Subject'] = claims.sub;
    r.return(200, claims.sub);
}

// The services' own answer to a refused token: the same body, the same RFC 6750 challenge.
function refuse(r) {
    r.headersOut['Content-Type'] = 'application/json';
    r.headersOut['WWW-Authenticate'] = r.variables.token_challenge;
    r.return(
        401,
        JSON.stringify({
            detail: 'Given token not valid for any token type',
            code: 'token_not_valid',
        }) + '\n'
    );
}

// The verified-token cache's key (js_set, the only JavaScript a request with a known token runs): a digest, so that
// nginx's cache files (which hold their key in the clear) never hold a token someone could use. The header's raw
// bytes, not r.headersIn's string: a string costs a UTF-8 pass over the token on every request.
function cacheKey(r) {
    return hashes.createHash('sha256').update(r.rawVariables.http_authorization || '').digest('hex');
}

export default { check, refuse, cacheKey };
