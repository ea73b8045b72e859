package xmlscan

// The markup other than tags: CDATA sections, comments, processing
// instructions and the XML declaration.

import "bytes"

var cdataStart = []byte("<![CDATA[")

// cdataSection reads the CDATA section at d[i].
func (s *Scanner) cdataSection(i int) Kind {
	d := s.data
	start := i + len(cdataStart)
	n := bytes.Index(d[start:], cdataEnd)
	if n < 0 {
		return s.fail(i, "unexpected EOF in a CDATA section")
	}
	esc, ok := validChars(d[start : start+n])
	if !ok {
		return s.fail(i, "invalid character in a CDATA section")
	}
	s.text, s.textEnd, s.esc, s.cdata = int32(start), int32(start+n), esc, true
	s.pos = start + n + len(cdataEnd)
	s.kind = CharData
	return CharData
}

var cdataEnd = []byte("]]>")

// comment reads the comment at d[i] == '<', d[i+1] == '!'. Like
// encoding/xml, it does not check the comment's characters.
func (s *Scanner) comment(i int) Kind {
	d := s.data
	if i+4 > len(d) || d[i+2] != '-' || d[i+3] != '-' {
		return s.fail(i, "unsupported directive (<!DOCTYPE or the like), or malformed markup")
	}
	start := i + 4
	n := bytes.Index(d[start:], []byte("--"))
	if n < 0 {
		return s.fail(i, "unexpected EOF in a comment")
	}
	end := start + n + 2
	if end >= len(d) || d[end] != '>' {
		return s.fail(i, "-- in a comment")
	}
	s.text, s.textEnd, s.esc = int32(start), int32(start+n), false
	s.pos = end + 1
	s.kind = Comment
	return Comment
}

// procInst reads the processing instruction at d[i] == '<', d[i+1] == '?'.
// Like encoding/xml, it does not check the instruction's characters, and
// for the target xml (the XML declaration, wherever it stands) it checks
// the version and the encoding.
func (s *Scanner) procInst(i int) Kind {
	d := s.data
	nameEnd, _, ok := scanName(d, i+2)
	if !ok {
		return s.fail(i, "invalid or unsupported processing instruction target")
	}
	start := skipSpace(d, nameEnd)
	n := bytes.Index(d[start:], []byte("?>"))
	if n < 0 {
		return s.fail(i, "unexpected EOF in a processing instruction")
	}
	inst := d[start : start+n]
	if string(d[i+2:nameEnd]) == "xml" {
		if v := declParam(inst, "version"); v != nil && string(v) != "1.0" {
			return s.fail(i, "unsupported XML version "+string(v))
		}
		if e := declParam(inst, "encoding"); e != nil && !bytes.EqualFold(e, []byte("utf-8")) {
			return s.fail(i, "unsupported encoding "+string(e))
		}
	}
	s.name, s.colon, s.nameEnd = int32(i+2), -1, int32(nameEnd) // the whole target
	s.text, s.textEnd, s.esc = int32(start), int32(start+n), false
	s.nattr = 0
	s.pos = start + n + 2
	s.kind = ProcInst
	return ProcInst
}

// declParam returns the value of the pseudo-attribute name of an XML
// declaration, nil when it has none (an empty value counts as none), found
// as encoding/xml finds it: the first "name=" followed by a quote, the
// value running to the next such quote.
func declParam(inst []byte, name string) []byte {
	for i := 0; i < len(inst); {
		k := bytes.Index(inst[i:], []byte(name+"="))
		if k < 0 || i+k+len(name)+1 >= len(inst) {
			return nil
		}
		q := inst[i+k+len(name)+1]
		i += k + len(name) + 2
		if q != '\'' && q != '"' {
			continue
		}
		j := bytes.IndexByte(inst[i:], q)
		if j <= 0 {
			return nil
		}
		return inst[i : i+j]
	}
	return nil
}
