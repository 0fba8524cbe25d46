package tlspsk

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"hash"
)

// suite describes one cipher suite.
type suite struct {
	id      uint16
	name    string
	keyLen  int  // AES key length
	macLen  int  // HMAC-SHA1 key/output length, 0 for AEAD
	ivLen   int  // implicit IV (GCM salt) length
	aead    bool // GCM, else CBC with HMAC-SHA1
	prfHash func() hash.Hash
}

var suites = []suite{
	{TLS_PSK_WITH_AES_128_CBC_SHA, "TLS_PSK_WITH_AES_128_CBC_SHA", 16, 20, 0, false, sha256.New},
	{TLS_PSK_WITH_AES_256_CBC_SHA, "TLS_PSK_WITH_AES_256_CBC_SHA", 32, 20, 0, false, sha256.New},
	{TLS_PSK_WITH_AES_128_GCM_SHA256, "TLS_PSK_WITH_AES_128_GCM_SHA256", 16, 0, 4, true, sha256.New},
	{TLS_PSK_WITH_AES_256_GCM_SHA384, "TLS_PSK_WITH_AES_256_GCM_SHA384", 32, 0, 4, true, sha512.New384},
}

func suiteByID(id uint16) *suite {
	for i := range suites {
		if suites[i].id == id {
			return &suites[i]
		}
	}
	return nil
}

// pHash is P_hash of RFC 5246 §5.
func pHash(h func() hash.Hash, out, secret, seed []byte) {
	mac := hmac.New(h, secret)
	mac.Write(seed)
	a := mac.Sum(nil)
	for len(out) > 0 {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		b := mac.Sum(nil)
		n := copy(out, b)
		out = out[n:]
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(a[:0])
	}
}

// prf12 is the TLS 1.2 PRF with the suite's hash.
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	out := make([]byte, n)
	ls := make([]byte, 0, len(label)+len(seed))
	ls = append(ls, label...)
	ls = append(ls, seed...)
	pHash(h, out, secret, ls)
	return out
}

// pskPremaster builds the plain PSK premaster secret of RFC 4279 §2.
func pskPremaster(psk []byte) []byte {
	n := len(psk)
	out := make([]byte, 2+n+2+n)
	out[0], out[1] = byte(n>>8), byte(n)
	out[2+n], out[3+n] = byte(n>>8), byte(n)
	copy(out[4+n:], psk)
	return out
}

const masterSecretLen = 48

// masterSecret derives the master secret; with ems, sessionHash is the
// transcript hash through ClientKeyExchange (RFC 7627), otherwise the randoms are used.
func masterSecret(s *suite, premaster, clientRandom, serverRandom, sessionHash []byte, ems bool) []byte {
	if ems {
		return prf12(s.prfHash, premaster, "extended master secret", sessionHash, masterSecretLen)
	}
	seed := append(append([]byte{}, clientRandom...), serverRandom...)
	return prf12(s.prfHash, premaster, "master secret", seed, masterSecretLen)
}

// keyBlock holds the connection keys of RFC 5246 §6.3.
type keyBlock struct {
	clientMAC, serverMAC, clientKey, serverKey, clientIV, serverIV []byte
}

func deriveKeys(s *suite, master, clientRandom, serverRandom []byte) keyBlock {
	seed := append(append([]byte{}, serverRandom...), clientRandom...)
	n := 2*s.macLen + 2*s.keyLen + 2*s.ivLen
	b := prf12(s.prfHash, master, "key expansion", seed, n)
	var kb keyBlock
	next := func(l int) []byte { v := b[:l:l]; b = b[l:]; return v }
	kb.clientMAC, kb.serverMAC = next(s.macLen), next(s.macLen)
	kb.clientKey, kb.serverKey = next(s.keyLen), next(s.keyLen)
	kb.clientIV, kb.serverIV = next(s.ivLen), next(s.ivLen)
	return kb
}

// finishedHash computes verify_data of RFC 5246 §7.4.9.
func finishedHash(s *suite, master []byte, label string, transcript []byte) []byte {
	h := s.prfHash()
	h.Write(transcript)
	return prf12(s.prfHash, master, label, h.Sum(nil), 12)
}

func transcriptHash(s *suite, transcript []byte) []byte {
	h := s.prfHash()
	h.Write(transcript)
	return h.Sum(nil)
}

// newProtection builds the record protection for one direction.
func newProtection(s *suite, key, macKey, iv []byte) (*protection, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	p := &protection{}
	if s.aead {
		g, err := cipher.NewGCM(block)
		if err != nil {
			return nil, err
		}
		p.aead = g
		p.salt = append([]byte{}, iv...)
		return p, nil
	}
	p.block = block
	p.mac = hmac.New(sha1.New, macKey)
	return p, nil
}
