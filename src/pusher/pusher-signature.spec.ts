import { apiStringToSign, channelStringToSign, hmacHex, md5Hex, safeEqualHex, userStringToSign, verifyClientAuth } from './pusher-signature.js';

// Vectors from pusher.com/docs (auth-signatures, rest-api), recomputed in the reference notes.
const KEY = '278d425bdf160c739803';
const SECRET = '7ad3773142a6692b25b8';

describe('Pusher signatures', () => {
  it('signs a private channel subscription like the documented vector', () => {
    const signature = hmacHex(SECRET, channelStringToSign('1234.1234', 'private-foobar'));
    expect(signature).toBe('58df8b0c36d6982b82c3ecf6b4662e34fe8c25bba48f5369f135bf843651c3a4');
    expect(verifyClientAuth(`${KEY}:${signature}`, KEY, SECRET, '1234.1234:private-foobar')).toBe(true);
  });

  it('signs presence channel_data verbatim', () => {
    const data = '{"user_id":10,"user_info":{"name":"Mr. Channels"}}';
    expect(hmacHex(SECRET, channelStringToSign('1234.1234', 'presence-foobar', data))).toBe(
      '31935e7d86dba64c2a90aed31fdc61869f9b22ba9d8863bba239c03ca481bc80',
    );
  });

  it('signs user authentication like the documented vector', () => {
    expect(hmacHex(SECRET, userStringToSign('1234.1234', '{"id":"12345"}'))).toBe(
      '4708d583dada6a56435fb8bc611c77c359a31eebde13337c16ab43aa6de336ba',
    );
  });

  it('signs an HTTP API request like the documented vector', () => {
    const body = '{"name":"foo","channels":["project-3"],"data":"{\\"some\\":\\"data\\"}"}';
    expect(md5Hex(body)).toBe('ec365a775a4cd0599faeb73354201b6f');
    const params = new Map([
      ['auth_version', '1.0'],
      ['auth_key', KEY],
      ['body_md5', md5Hex(body)],
      ['auth_timestamp', '1353088179'],
      ['auth_signature', 'ignored'],
    ]);
    const toSign = apiStringToSign('post', '/apps/3/events', params);
    expect(toSign).toBe(
      'POST\n/apps/3/events\nauth_key=278d425bdf160c739803&auth_timestamp=1353088179&auth_version=1.0&body_md5=ec365a775a4cd0599faeb73354201b6f',
    );
    expect(hmacHex(SECRET, toSign)).toBe('da454824c97ba181a32ccc17a72625ba02771f50b50e1e7430e47a1f3f457e6c');
  });

  it('rejects a wrong key, a wrong signature and malformed auth strings', () => {
    const good = hmacHex(SECRET, '1.1:private-x');
    expect(verifyClientAuth(`other:${good}`, KEY, SECRET, '1.1:private-x')).toBe(false);
    expect(verifyClientAuth(`${KEY}:${good.replace(/.$/, '0')}`, KEY, SECRET, '1.1:private-x')).toBe(false);
    expect(verifyClientAuth(`${KEY}${good}`, KEY, SECRET, '1.1:private-x')).toBe(false);
    expect(verifyClientAuth(undefined, KEY, SECRET, '1.1:private-x')).toBe(false);
    expect(safeEqualHex('ab', 'abc')).toBe(false);
  });
});
