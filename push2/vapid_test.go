package push2

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"
)

// verifyToken checks a token's ES256 signature against pub (a 65-byte
// point) with the standard library, and returns its claims.
func verifyToken(t *testing.T, pub []byte, token string) map[string]any {
	t.Helper()
	key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pub)
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q", token)
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	sig := b64url(t, parts[2])
	if len(sig) != 64 || !ecdsa.Verify(key, digest[:], new(big.Int).SetBytes(sig[:32]), new(big.Int).SetBytes(sig[32:])) {
		t.Fatalf("token does not verify: %s", token)
	}
	var claims map[string]any
	if err := json.Unmarshal(b64url(t, parts[1]), &claims); err != nil {
		t.Fatal(err)
	}
	return claims
}

func unixClaim(t *testing.T, claims map[string]any, name string) int64 {
	t.Helper()
	v, ok := claims[name].(float64)
	if !ok {
		t.Fatalf("claim %s: %v", name, claims[name])
	}
	return int64(v)
}

// TestVAPIDCacheReuse: the cache hands out the same token while the time
// stays in its window, a new one from the first second of the next, and
// every token it hands out verifies and has at least vapidMargin left.
func TestVAPIDCacheReuse(t *testing.T) {
	c := &vapidCache{max: maxVAPIDTokens}
	s := testVAPIDSend()
	p := &Push{Domain: "example.net", Now: time.Unix(1_800_000_000, 0)}
	first, pub, err := c.token(&s, p)
	if err != nil {
		t.Fatal(err)
	}
	claims := verifyToken(t, pub, first)
	iat := unixClaim(t, claims, "iat")
	if claims["aud"] != "https://push.example" || claims["sub"] != "xmpp:example.net" {
		t.Errorf("claims %v", claims)
	}
	window := int64(vapidWindow / time.Second)
	tests := []struct {
		at   int64 // Unix seconds
		same bool  // the first token again
	}{
		{iat, true},
		{p.Now.Unix(), true},
		{iat + window - 1, true},
		{iat + window, false},
		{iat + window + 5000, false},
		{iat - 1, false}, // time went back past the window's start
		{iat + 3*window, false},
	}
	for _, tc := range tests {
		p.Now = time.Unix(tc.at, 0)
		tok, pub2, err := c.token(&s, p)
		if err != nil {
			t.Fatal(err)
		}
		if (tok == first) != tc.same {
			t.Errorf("at iat%+d s: same token %v, want %v", tc.at-iat, tok == first, tc.same)
		}
		claims := verifyToken(t, pub2, tok)
		iat2, exp := unixClaim(t, claims, "iat"), unixClaim(t, claims, "exp")
		if iat2 > tc.at || exp-tc.at < int64(vapidMargin/time.Second) || exp != iat2+int64(vAPIDLifetime/time.Second) {
			t.Errorf("at %d: iat %d, exp %d", tc.at, iat2, exp)
		}
		if again, _, _ := c.token(&s, p); again != tok {
			t.Errorf("at %d: a second call signed again", tc.at)
		}
	}
}

// TestVAPIDCacheKeys: a token belongs to one signing key, sub and set of
// claims; changing any of them gives a new token, signed by the right key.
func TestVAPIDCacheKeys(t *testing.T) {
	c := &vapidCache{max: maxVAPIDTokens}
	now := time.Unix(1_800_000_000, 0)
	base := testVAPIDSend()
	otherAud := testVAPIDSend()
	otherAud.Claims = []Claim{{"aud", "https://other.example"}}
	otherKey := testVAPIDSend()
	otherKey.JWTKey = sha256.Sum256([]byte("another VAPID key"))
	extra := testVAPIDSend()
	extra.Claims = append([]Claim{}, base.Claims...)
	extra.Claims = append(extra.Claims, Claim{"x", "y"})
	tests := []struct {
		name    string
		send    Send
		contact string
		aud     string
		sub     string
	}{
		{"base", base, "", "https://push.example", "xmpp:example.net"},
		{"other audience", otherAud, "", "https://other.example", "xmpp:example.net"},
		{"other key", otherKey, "", "https://push.example", "xmpp:example.net"},
		{"one more claim", extra, "", "https://push.example", "xmpp:example.net"},
		{"contact", base, "mailto:ops@example.net", "https://push.example", "mailto:ops@example.net"},
	}
	seen := map[string]string{}
	for _, tc := range tests {
		tok, pub, err := c.token(&tc.send, &Push{Domain: "example.net", Contact: tc.contact, Now: now})
		if err != nil {
			t.Fatal(err)
		}
		claims := verifyToken(t, pub, tok)
		if claims["aud"] != tc.aud || claims["sub"] != tc.sub {
			t.Errorf("%s: claims %v", tc.name, claims)
		}
		key, _ := tc.send.JWTKey.PrivateKey()
		if want, _ := key.PublicKey.Bytes(); string(pub) != string(want) {
			t.Errorf("%s: public key is not the send's", tc.name)
		}
		if prev, ok := seen[tok]; ok {
			t.Errorf("%s: the token of %s", tc.name, prev)
		}
		seen[tok] = tc.name
	}
	if len(c.tokens) != len(tests) {
		t.Errorf("%d entries, want %d", len(c.tokens), len(tests))
	}
}

// TestVAPIDCacheDeterministic: the claims depend on the registration and
// the time alone, not on what the cache held before.
func TestVAPIDCacheDeterministic(t *testing.T) {
	s := testVAPIDSend()
	start := time.Unix(1_800_000_000, 0)
	warm := &vapidCache{max: maxVAPIDTokens}
	for i := range 12 {
		now := start.Add(time.Duration(i) * 17 * time.Minute)
		warmTok, pub, err := warm.token(&s, &Push{Domain: "example.net", Now: now})
		if err != nil {
			t.Fatal(err)
		}
		coldTok, _, err := (&vapidCache{max: 1}).token(&s, &Push{Domain: "example.net", Now: now})
		if err != nil {
			t.Fatal(err)
		}
		w, c := verifyToken(t, pub, warmTok), verifyToken(t, pub, coldTok)
		if fmt.Sprint(w) != fmt.Sprint(c) {
			t.Errorf("at +%v: claims %v after earlier pushes, %v on an empty cache", now.Sub(start), w, c)
		}
	}
}

// TestVAPIDCacheBound: a full cache forgets an entry for each new one,
// and what it hands out stays right.
func TestVAPIDCacheBound(t *testing.T) {
	c := &vapidCache{max: 3}
	now := time.Unix(1_800_000_000, 0)
	for i := range 10 {
		s := testVAPIDSend()
		s.Claims = []Claim{{"aud", fmt.Sprintf("https://push%d.example", i)}}
		tok, pub, err := c.token(&s, &Push{Domain: "example.net", Now: now})
		if err != nil {
			t.Fatal(err)
		}
		if claims := verifyToken(t, pub, tok); claims["aud"] != s.Claims[0].Value {
			t.Errorf("%d: claims %v", i, claims)
		}
		if len(c.tokens) > 3 {
			t.Fatalf("%d: %d entries", i, len(c.tokens))
		}
	}
}

// TestVAPIDCacheConcurrent: goroutines sharing the cache get, per
// registration and window, one token that verifies (run with -race).
func TestVAPIDCacheConcurrent(t *testing.T) {
	c := &vapidCache{max: 4}
	now := time.Unix(1_800_000_000, 0)
	sends := make([]Send, 6)
	for i := range sends {
		sends[i] = testVAPIDSend()
		sends[i].Claims = []Claim{{"aud", fmt.Sprintf("https://push%d.example", i)}}
	}
	type result struct {
		send int
		tok  string
		pub  []byte
	}
	results := make(chan result, 8*40)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 40 {
				n := (g + i) % len(sends)
				tok, pub, err := c.token(&sends[n], &Push{Domain: "example.net", Now: now})
				if err != nil {
					t.Error(err)
					return
				}
				results <- result{n, tok, pub}
			}
		})
	}
	wg.Wait()
	close(results)
	for r := range results {
		if claims := verifyToken(t, r.pub, r.tok); claims["aud"] != sends[r.send].Claims[0].Value {
			t.Errorf("send %d: claims %v", r.send, claims)
		}
	}
}

func TestWindowStart(t *testing.T) {
	w := int64(vapidWindow / time.Second)
	for _, id := range [][32]byte{{}, sha256.Sum256([]byte("a")), {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}} {
		for _, unix := range []int64{0, 1, w - 1, w, 1_800_000_000, -1, -w, -62135596800} {
			start := windowStart(unix, id)
			if start > unix || unix >= start+w {
				t.Errorf("%x: window of %d starts at %d", id[:2], unix, start)
			}
			if windowStart(start, id) != start || windowStart(start+w-1, id) != start || windowStart(start-1, id) != start-w {
				t.Errorf("%x: windows around %d are not fixed", id[:2], start)
			}
		}
	}
	if windowStart(1_800_000_000, sha256.Sum256([]byte("a"))) == windowStart(1_800_000_000, sha256.Sum256([]byte("b"))) {
		t.Error("the registrations of two keys share their windows")
	}
}

// TestAppendPushReusesToken: two pushes in one window carry the same
// token, a push in the next window a new one; each verifies.
func TestAppendPushReusesToken(t *testing.T) {
	s := testVAPIDSend()
	s.Claims = []Claim{{"aud", "https://reuse.example"}}
	req := testRequest(Match{Profile: MatchAll, Send: s})
	stanza := []byte("<message to='romeo@example.net'><body>hi</body></message>")
	push := func(now time.Time) (string, map[string]any) {
		out, _, err := AppendPush(nil, &req, &req.Matches[0], stanza, &Push{Domain: "example.net", Now: now})
		if err != nil {
			t.Fatal(err)
		}
		var n notificationXML
		if err := xml.Unmarshal(out, &n); err != nil || n.N.JWT == nil {
			t.Fatalf("%s: %v", out, err)
		}
		pub, err := base64.StdEncoding.DecodeString(n.N.JWT.Key)
		if err != nil {
			t.Fatal(err)
		}
		return n.N.JWT.Token, verifyToken(t, pub, n.N.JWT.Token)
	}
	now := time.Unix(1_900_000_000, 0)
	first, claims := push(now)
	iat := time.Unix(unixClaim(t, claims, "iat"), 0)
	if again, _ := push(iat.Add(vapidWindow - time.Second)); again != first {
		t.Error("a push in the same window signed a new token")
	}
	next, claims := push(iat.Add(vapidWindow))
	if next == first || unixClaim(t, claims, "iat") != iat.Add(vapidWindow).Unix() {
		t.Errorf("next window: same token %v, claims %v", next == first, claims)
	}
}
