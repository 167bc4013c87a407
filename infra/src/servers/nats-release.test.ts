import { describe, expect, it } from 'vitest';
import { packageStanza, releaseSha256, supportsSyncInterval } from './nats-release.ts';

const IN_RELEASE = `-----BEGIN PGP SIGNED MESSAGE-----
Hash: SHA256

Origin: Debian
Suite: stable
Codename: trixie
MD5Sum:
 203e1451a4c2e0edf3646a5da3cec2d8  9679304 main/binary-amd64/Packages.xz
SHA256:
 13e6082186541a4f2272a0a1c05a3c7c326df26cebd078d2de4fc94b00597b58  1961125 contrib/Contents-all
 be3d7d96a040eda0505c1808cccc67f183bbc05dff0842c50f88e6c396557412  9679304 main/binary-amd64/Packages.xz
 0000000000000000000000000000000000000000000000000000000000000000      12 main/binary-arm64/Packages.xz
-----BEGIN PGP SIGNATURE-----
`;

const PACKAGES = `Package: nats
Version: 1.0
Filename: pool/main/n/nats/nats_1.0_amd64.deb

Package: nats-server
Version: 2.10.27-1+b2
Depends: libc6 (>= 2.34), adduser
Filename: pool/main/n/nats-server/nats-server_2.10.27-1+b2_amd64.deb
SHA256: 6d913ac987b78734c08537c2adeb1526cf735f216173a9170d94b185fcfe6f8a

Package: nats-server-dbg
Filename: pool/x.deb
`;

describe('reading Debian archive metadata for the newer nats-server', () => {
  it('takes the SHA-256 of exactly the named index from InRelease, not its MD5 nor another architecture', () => {
    expect(releaseSha256(IN_RELEASE, 'main/binary-amd64/Packages.xz')).toBe(
      'be3d7d96a040eda0505c1808cccc67f183bbc05dff0842c50f88e6c396557412',
    );
    expect(releaseSha256(IN_RELEASE, 'main/binary-arm64/Packages.xz')).toBe('0'.repeat(64));
    expect(releaseSha256(IN_RELEASE, 'main/binary-i386/Packages.xz')).toBeUndefined();
  });

  it('finds the exact package stanza (not a package whose name only starts the same)', () => {
    const s = packageStanza(PACKAGES, 'nats-server');
    expect(s?.Version).toBe('2.10.27-1+b2');
    expect(s?.Filename).toBe('pool/main/n/nats-server/nats-server_2.10.27-1+b2_amd64.deb');
    expect(s?.SHA256).toBe('6d913ac987b78734c08537c2adeb1526cf735f216173a9170d94b185fcfe6f8a');
    expect(packageStanza(PACKAGES, 'nats')?.Version).toBe('1.0');
    expect(packageStanza(PACKAGES, 'nats-serve')).toBeUndefined();
  });

  it('knows which versions have sync_interval', () => {
    expect(supportsSyncInterval([2, 9, 10])).toBe(false);
    expect(supportsSyncInterval([2, 10, 0])).toBe(true);
    expect(supportsSyncInterval([2, 12, 1])).toBe(true);
    expect(supportsSyncInterval([3, 0, 0])).toBe(true);
    expect(supportsSyncInterval(undefined)).toBe(false);
  });
});
