package xmlscan

// The tags: start tags, with their attributes and namespace declarations, and
// end tags.

import "bytes"

// startTag reads the start tag at d[i] == '<'.
func (s *Scanner) startTag(i int) Kind {
	d := s.data
	tag := i
	nameStart := i + 1
	nameEnd, colon, ok := scanName(d, nameStart)
	if !ok {
		return s.fail(tag, "invalid or unsupported element name")
	}
	depth := s.depth + 1
	nb := s.nb
	nattr := 0
	empty := false
	i = nameEnd
	for {
		i = skipSpace(d, i)
		if i >= len(d) {
			return s.fail(tag, "unexpected EOF in a start tag")
		}
		if d[i] == '>' {
			i++
			break
		}
		if d[i] == '/' {
			if i+1 >= len(d) || d[i+1] != '>' {
				return s.fail(tag, "expected /> in an empty-element tag")
			}
			empty = true
			i += 2
			break
		}
		aStart := i
		an, acolon, ok := scanName(d, i)
		if !ok {
			return s.fail(tag, "invalid or unsupported attribute name")
		}
		if nattr == MaxAttrs {
			return s.fail(tag, "more than 32 attributes on one element")
		}
		i = skipSpace(d, an)
		if i >= len(d) || d[i] != '=' {
			return s.fail(tag, "attribute without a value")
		}
		i = skipSpace(d, i+1)
		if i >= len(d) || (d[i] != '"' && d[i] != '\'') {
			return s.fail(tag, "unquoted attribute value")
		}
		vStart := i + 1
		vEnd, esc, ok := scanAttr(d, vStart, d[i])
		if !ok {
			return s.fail(tag, "invalid attribute value")
		}
		i = vEnd + 1
		s.attrs[nattr] = attr{
			name: int32(aStart), colon: int32(acolon), end: int32(an),
			vStart: int32(vStart), vEnd: int32(vEnd), esc: esc,
		}
		nattr++
		// Namespace declarations. Those of the prefixes xml and xmlns are
		// kept but have no effect, as in encoding/xml (resolve answers
		// for those prefixes first).
		var prefix [2]int32
		switch {
		case acolon < 0 && string(d[aStart:an]) == "xmlns":
			prefix = [2]int32{int32(an), int32(an)}
		case acolon >= 0 && string(d[aStart:acolon]) == "xmlns":
			if vEnd == vStart {
				return s.fail(tag, "unsupported namespace declaration: empty prefixed namespace")
			}
			prefix = [2]int32{int32(acolon + 1), int32(an)}
		default:
			continue
		}
		if esc {
			return s.fail(tag, "unsupported namespace declaration: references or carriage returns in its value")
		}
		if nb == MaxBindings {
			return s.fail(tag, "more than 64 namespace declarations in scope")
		}
		s.binds[nb] = binding{prefix: prefix, value: [2]int32{int32(vStart), int32(vEnd)}, depth: int32(depth)}
		nb++
	}
	if s.depth >= MaxDepth {
		s.tooDeep = true
		return s.fail(tag, "elements nested deeper than 32")
	}
	s.nb = nb
	s.nattr = nattr
	s.name, s.colon, s.nameEnd = int32(nameStart), int32(colon), int32(nameEnd)
	s.names[s.depth] = [2]int32{int32(nameStart), int32(nameEnd)}
	s.depth = depth
	s.pos = i
	if empty {
		s.state = stateEndNext
	}
	s.kind = StartElement
	return StartElement
}

// endTag reads the end tag at d[i] == '<', d[i+1] == '/'.
func (s *Scanner) endTag(i int) Kind {
	d := s.data
	if s.depth == 0 {
		return s.fail(i, "unexpected end element")
	}
	end, colon, ok := scanName(d, i+2)
	if !ok {
		return s.fail(i, "invalid or unsupported element name")
	}
	open := s.names[s.depth-1]
	if !bytes.Equal(d[i+2:end], d[open[0]:open[1]]) {
		return s.fail(i, "element <"+string(d[open[0]:open[1]])+"> closed by </"+string(d[i+2:end])+">")
	}
	j := skipSpace(d, end)
	if j >= len(d) || d[j] != '>' {
		return s.fail(i, "invalid characters in an end tag")
	}
	s.name, s.colon, s.nameEnd = int32(i+2), int32(colon), int32(end)
	s.nattr = 0
	s.depth--
	s.state = statePop
	s.pos = j + 1
	s.kind = EndElement
	return EndElement
}
