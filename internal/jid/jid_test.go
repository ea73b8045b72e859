package jid

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPrepare(t *testing.T) {
	long := strings.Repeat("a", MaxPartLen)
	for _, tc := range []struct {
		in   string
		want JID
		bad  bool
	}{
		{in: "push.example.net", want: JID{Domain: "push.example.net"}},
		{in: "juliet@example.org", want: JID{Local: "juliet", Domain: "example.org"}},
		{in: "juliet@example.org/phone/with/slashes@", want: JID{Local: "juliet", Domain: "example.org", Resource: "phone/with/slashes@"}},
		{in: "Juliet@Example.ORG/Phone", want: JID{Local: "juliet", Domain: "example.org", Resource: "Phone"}},
		{in: "example.org.", want: JID{Domain: "example.org"}},
		{in: "[::1]", want: JID{Domain: "[::1]"}},
		{in: "[0:0::1]", want: JID{Domain: "[::1]"}},
		{in: "a@192.0.2.1", want: JID{Local: "a", Domain: "192.0.2.1"}},
		// Internationalised addresses.
		{in: "ñandú@example.org", want: JID{Local: "ñandú", Domain: "example.org"}},
		{in: "用户@例子.测试", want: JID{Local: "用户", Domain: "例子.测试"}},
		{in: "juliet@xn--bcher-kva.example", want: JID{Local: "juliet", Domain: "bücher.example"}},
		{in: "juliet@Bücher.example", want: JID{Local: "juliet", Domain: "bücher.example"}},
		{in: "ΣΑΣ@example.org", want: JID{Local: "σασ", Domain: "example.org"}},
		{in: "a@example.org/ﬁ\u00a0x", want: JID{Local: "a", Domain: "example.org", Resource: "ﬁ x"}},
		{in: "a@example.org/r<b\\c", want: JID{Local: "a", Domain: "example.org", Resource: "r<b\\c"}},
		// The routing attacks: each of these names juliet@example.org.
		{in: "ｊｕｌｉｅｔ@example.org", want: JID{Local: "juliet", Domain: "example.org"}},
		{in: "juliet@ＥＸＡＭＰＬＥ.ORG", want: JID{Local: "juliet", Domain: "example.org"}},
		{in: "juliet@example\u3002org", want: JID{Local: "juliet", Domain: "example.org"}},
		{in: "juliet@example\uff0eorg", want: JID{Local: "juliet", Domain: "example.org"}},
		{in: "juliet@example\uff61org", want: JID{Local: "juliet", Domain: "example.org"}},
		{in: "juliet@example.org\u3002", want: JID{Local: "juliet", Domain: "example.org"}},
		// In the domain, UTS #46 removes default-ignorable code points.
		{in: "juliet@exam\u00adple.org", want: JID{Local: "juliet", Domain: "example.org"}},
		{in: "juliet@exam\u200bple.org", want: JID{Local: "juliet", Domain: "example.org"}},
		// The limits apply to the prepared parts.
		{in: strings.Repeat("ａ", MaxPartLen) + "@example.org", want: JID{Local: long, Domain: "example.org"}},
		{in: "a@" + strings.Repeat("a\u00ad", 600) + ".org", want: JID{Local: "a", Domain: strings.Repeat("a", 600) + ".org"}},
		// PRECIS refuses these in the localpart and the resourcepart.
		{in: "jul\u00adiet@example.org", bad: true},
		{in: "jul\u200biet@example.org", bad: true},
		{in: "juliet@example.org/a\u200bb", bad: true},
		{in: "juliet@example.org/a\u00adb", bad: true},
		{in: "a b@example.org", bad: true},
		{in: "a<b@example.org", bad: true},
		{in: "a＜b@example.org", bad: true}, // full-width '<' maps to '<'
		{in: "a&b@example.org", bad: true},
		{in: "a@example.org/\x01", bad: true},
		// Structure, IDNA and IP literals.
		{in: "@push.example.net", bad: true},
		{in: "push.example.net/", bad: true},
		{in: "a@", bad: true},
		{in: "", bad: true},
		{in: "a@exa<mple.org", bad: true},
		{in: "a@exa_mple.org", bad: true},
		{in: "a@b@c", bad: true},
		{in: "..", bad: true},
		{in: ".", bad: true},
		{in: "\u3002", bad: true},
		{in: "a@.example.org", bad: true},
		{in: "a@example..org", bad: true},
		{in: "a@example\u3002\u3002org", bad: true},
		{in: "a@xn--zz.example", bad: true},
		{in: "a@-a.example", bad: true},
		{in: "[::1", bad: true},
		{in: "[192.0.2.1]", bad: true},
		{in: "[fe80::1%eth0]", bad: true},
		{in: "\xff@example.org", bad: true},
		{in: long + "a@example.org", bad: true},
		{in: "a@example.org/" + long + "a", bad: true},
		{in: "a@" + strings.Repeat("a.", 512) + "org", bad: true},
	} {
		got, err := Prepare(tc.in)
		if tc.bad {
			if !errors.Is(err, ErrMalformed) {
				t.Errorf("Prepare(%q) = %+v, %v; want ErrMalformed", tc.in, got, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Prepare(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
			continue
		}
		if again, err := Prepare(got.String()); err != nil || again != got {
			t.Errorf("Prepare(%q) = %+v, %v; want it unchanged", got.String(), again, err)
		}
	}
}

func TestPrepareErrorNamesPart(t *testing.T) {
	for in, part := range map[string]string{
		"jul\u00adiet@example.org":                           "localpart",
		"a@exa_mple.org":                                     "domainpart",
		"a@example.org/x\u200by":                             "resourcepart",
		"a@example.org/" + strings.Repeat("r", MaxPartLen+1): "resourcepart",
	} {
		_, err := Prepare(in)
		if !errors.Is(err, ErrMalformed) || !strings.Contains(err.Error(), part) {
			t.Errorf("Prepare(%.40q) error %v; want ErrMalformed naming the %s", in, err, part)
		}
	}
}

func TestSameAccount(t *testing.T) {
	const user = "juliet@example.org"
	for _, tc := range []struct {
		service string
		want    bool
	}{
		{"juliet@example.org", true},
		{"juliet@example.org/phone", true},
		{"Juliet@Example.ORG/Phone", true},
		{"example.org", true},
		{"example.org/admin", true},
		{"ｊｕｌｉｅｔ@example.org", true},
		{"juliet@ＥＸＡＭＰＬＥ.ORG", true},
		{"juliet@example\u3002org", true},
		{"juliet@example\uff0eorg", true},
		{"juliet@example\uff61org/x", true},
		{"ＥＸＡＭＰＬＥ\u3002ORG", true},
		{"exam\u00adple.org", true},
		{"example.org.", true},
		{"push.example.org", false},
		{"romeo@example.org", false},
		{"juliet@example.net", false},
		{"juliet@push.example.org", false},
		{"julie@example.org", false},
	} {
		s, err := Prepare(tc.service)
		if err != nil {
			t.Fatalf("Prepare(%q): %v", tc.service, err)
		}
		if got := SameAccount(user, s); got != tc.want {
			t.Errorf("SameAccount(%q, %q) = %v, want %v", user, tc.service, got, tc.want)
		}
		if got := SameAccount("Ｊuliet@EXAMPLE。org", s); got != tc.want {
			t.Errorf("SameAccount of the unprepared user, %q = %v, want %v", tc.service, got, tc.want)
		}
	}
	// A user that does not prepare is compared as written.
	bad := "jul\u200biet@example.org"
	if !SameAccount(bad, JID{Local: "jul\u200biet", Domain: "example.org"}) || SameAccount(bad, JID{Local: "juliet", Domain: "example.org"}) {
		t.Error("SameAccount with an unpreparable user should compare the parts as written")
	}
	if SameAccount("@", JID{Domain: "example.org"}) {
		t.Error("SameAccount with a user that does not split is false")
	}
}

func TestEqualBareDomain(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Juliet@Example.ORG/phone", "juliet@example.org/phone", true},
		{"ｊｕｌｉｅｔ@example\u3002org", "juliet@example.org", true},
		{"push.example.net", "push.example.net.", true},
		{"juliet@example.org/Phone", "juliet@example.org/phone", false},
		{"juliet@example.org", "juliet@example.org/phone", false},
		{"bad@", "bad@", true},
		{"a@b", "bad@", false},
		{"bad@", "a@b", false},
	} {
		if got := Equal(tc.a, tc.b); got != tc.want {
			t.Errorf("Equal(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
	if Bare("a@b/c") != "a@b" || Domain("a@b/c") != "b" || Domain("b") != "b" {
		t.Error("Bare/Domain")
	}
	j := JID{Local: "a", Domain: "b", Resource: "c/d"}
	if j.Bare() != "a@b" || j.String() != "a@b/c/d" || (JID{Domain: "b"}).String() != "b" {
		t.Errorf("Bare %q, String %q", j.Bare(), j.String())
	}
}

func ExampleSameAccount() {
	for _, service := range []string{"ｊｕｌｉｅｔ@example\u3002org", "EXAMPLE.ORG", "push.example.net"} {
		s, err := Prepare(service)
		fmt.Println(s, err, SameAccount("juliet@example.org", s))
	}
	// Output:
	// juliet@example.org <nil> true
	// example.org <nil> true
	// push.example.net <nil> false
}

// FuzzPrepare: Prepare never panics, refuses with ErrMalformed, keeps each
// prepared part within MaxPartLen, and gives a prepared address back
// unchanged.
func FuzzPrepare(f *testing.F) {
	for _, s := range []string{
		"juliet@example.org/phone", "push.example.net", "@x", "x/", "a@b@c", "..",
		"ｊｕｌｉｅｔ@ＥＸＡＭＰＬＥ\u3002ORG", "ñandú@example.org", "用户@例子.测试",
		"juliet@xn--bcher-kva.example", "[::1]", "a@example.org/ﬁ\u00a0x", "ΣΑΣ@exam\u00adple.org",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		j, err := Prepare(s)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Prepare(%q) error %v does not wrap ErrMalformed", s, err)
			}
			return
		}
		if len(j.Local) > MaxPartLen || len(j.Domain) > MaxPartLen || len(j.Resource) > MaxPartLen {
			t.Fatalf("Prepare(%q) = %+v: a part is longer than %d", s, j, MaxPartLen)
		}
		again, err := Prepare(j.String())
		if err != nil || again != j {
			t.Fatalf("%q prepared to %+v, whose text %q prepared to %+v (%v)", s, j, j.String(), again, err)
		}
	})
}

func BenchmarkPrepare(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Prepare("juliet@example.org/balcony"); err != nil {
			b.Fatal(err)
		}
	}
}
