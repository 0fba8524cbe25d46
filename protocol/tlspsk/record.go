package tlspsk

import (
	"crypto/cipher"
	"crypto/rand"
	"crypto/subtle"
	"encoding/binary"
	"hash"
)

// Record content types (RFC 5246 §6.2.1).
const (
	recordTypeChangeCipherSpec byte = 20
	recordTypeAlert            byte = 21
	recordTypeHandshake        byte = 22
	recordTypeApplicationData  byte = 23
)

const (
	recordHeaderLen = 5
	maxPlaintext    = 1 << 14             // RFC 5246 §6.2.1
	maxCiphertext   = maxPlaintext + 2048 // RFC 5246 §6.2.3
	aesBlockSize    = 16
	gcmExplicitLen  = 8
)

// protection is the record protection of one direction: AES-GCM with an
// explicit nonce (RFC 5288), or AES-CBC with HMAC-SHA1, MAC-then-encrypt and
// an explicit IV per record (RFC 5246 §6.2.3.2).
type protection struct {
	seq uint64

	aead cipher.AEAD
	salt []byte

	block cipher.Block
	mac   hash.Hash
}

// additionalData builds seq_num + type + version + length.
func additionalData(dst []byte, seq uint64, typ byte, n int) []byte {
	dst = binary.BigEndian.AppendUint64(dst, seq)
	dst = append(dst, typ, byte(VersionTLS12>>8), byte(VersionTLS12&0xff))
	return binary.BigEndian.AppendUint16(dst, uint16(n))
}

// seal appends a complete record (header and protected payload) to dst.
func (p *protection) seal(dst []byte, typ byte, payload []byte) []byte {
	start := len(dst)
	dst = append(dst, typ, byte(VersionTLS12>>8), byte(VersionTLS12&0xff), 0, 0)
	var ad [13]byte
	switch {
	case p == nil:
		dst = append(dst, payload...)
	case p.aead != nil:
		var nonce [12]byte
		copy(nonce[:4], p.salt)
		binary.BigEndian.PutUint64(nonce[4:], p.seq)
		dst = append(dst, nonce[4:]...)
		dst = p.aead.Seal(dst, nonce[:], payload, additionalData(ad[:0], p.seq, typ, len(payload)))
	default:
		ivStart := len(dst)
		dst = append(dst, make([]byte, aesBlockSize)...)
		rand.Read(dst[ivStart:]) // never fails (crypto/rand, Go ≥ 1.24)
		bodyStart := len(dst)
		dst = append(dst, payload...)
		p.mac.Reset()
		p.mac.Write(additionalData(ad[:0], p.seq, typ, len(payload)))
		p.mac.Write(payload)
		dst = p.mac.Sum(dst)
		padLen := aesBlockSize - (len(dst)-bodyStart)%aesBlockSize // 1..16 bytes incl. the length byte
		for range padLen {
			dst = append(dst, byte(padLen-1))
		}
		cipher.NewCBCEncrypter(p.block, dst[ivStart:bodyStart]).CryptBlocks(dst[bodyStart:], dst[bodyStart:])
	}
	if p != nil {
		p.seq++
	}
	binary.BigEndian.PutUint16(dst[start+3:], uint16(len(dst)-start-recordHeaderLen))
	return dst
}

// open decrypts and authenticates a record payload in place. The alert is
// meaningful only when ok is false.
func (p *protection) open(typ byte, payload []byte) (plaintext []byte, a Alert, ok bool) {
	if p == nil {
		if len(payload) > maxPlaintext {
			return nil, AlertRecordOverflow, false
		}
		return payload, 0, true
	}
	var ad [13]byte
	if p.aead != nil {
		if len(payload) < gcmExplicitLen+p.aead.Overhead() {
			return nil, AlertBadRecordMAC, false
		}
		var nonce [12]byte
		copy(nonce[:4], p.salt)
		copy(nonce[4:], payload[:gcmExplicitLen])
		ct := payload[gcmExplicitLen:]
		n := len(ct) - p.aead.Overhead()
		out, err := p.aead.Open(ct[:0], nonce[:], ct, additionalData(ad[:0], p.seq, typ, n))
		if err != nil {
			return nil, AlertBadRecordMAC, false
		}
		p.seq++
		if len(out) > maxPlaintext {
			return nil, AlertRecordOverflow, false
		}
		return out, 0, true
	}

	macSize := p.mac.Size()
	minPayload := aesBlockSize + roundUp(macSize+1, aesBlockSize)
	if len(payload)%aesBlockSize != 0 || len(payload) < minPayload {
		return nil, AlertBadRecordMAC, false
	}
	iv, body := payload[:aesBlockSize], payload[aesBlockSize:]
	cipher.NewCBCDecrypter(p.block, iv).CryptBlocks(body, body)

	// Lucky13 mitigation as in crypto/tls: padding is checked in constant
	// time, and the bytes after the secret data length are fed to the HMAC
	// after the digest so the work done does not depend on the padding.
	paddingLen, paddingGood := extractPadding(body)
	n := len(body) - macSize - paddingLen
	n = subtle.ConstantTimeSelect(int(uint32(n)>>31), 0, n) // if n < 0 { n = 0 }
	remoteMAC := body[n : n+macSize]
	p.mac.Reset()
	p.mac.Write(additionalData(ad[:0], p.seq, typ, n))
	p.mac.Write(body[:n])
	var macBuf [64]byte
	localMAC := p.mac.Sum(macBuf[:0])
	p.mac.Write(body[n+macSize:])

	macAndPaddingGood := subtle.ConstantTimeCompare(localMAC, remoteMAC) & int(paddingGood)
	if macAndPaddingGood != 1 {
		return nil, AlertBadRecordMAC, false
	}
	p.seq++
	if n > maxPlaintext {
		return nil, AlertRecordOverflow, false
	}
	return body[:n], 0, true
}

// extractPadding returns, in constant time, the length of the padding to
// remove from the end of payload and 255 if the padding is valid, 0
// otherwise (copied in substance from crypto/tls, RFC 5246 §6.2.3.2).
func extractPadding(payload []byte) (toRemove int, good byte) {
	if len(payload) < 1 {
		return 0, 0
	}
	paddingLen := payload[len(payload)-1]
	t := uint(len(payload)-1) - uint(paddingLen)
	// if len(payload) >= (paddingLen - 1) then the MSB of t is zero
	good = byte(int32(^t) >> 31)

	// The maximum possible padding length plus the length byte.
	toCheck := min(256, len(payload))
	for i := 0; i < toCheck; i++ {
		t := uint(paddingLen) - uint(i)
		// if i <= paddingLen then the MSB of t is zero
		mask := byte(int32(^t) >> 31)
		b := payload[len(payload)-1-i]
		good &^= mask&paddingLen ^ mask&b
	}
	good &= good << 4
	good &= good << 2
	good &= good << 1
	good = uint8(int8(good) >> 7)

	// Zero the padding length on error so that every unchecked byte goes
	// into the MAC: bad padding and a bad MAC must be indistinguishable.
	paddingLen &= good
	return int(paddingLen) + 1, good
}

func roundUp(a, b int) int { return a + (b-a%b)%b }
