package core

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pushrules/pushrules/events"
	"github.com/pushrules/pushrules/registry"
)

// TestDataDriven runs the scripts in testdata/*.txt against the pure core,
// with no Store and no shell: one user, juliet@example.org. A script is a
// list of cases separated by blank lines; each case is commands, a line
// "----", and the exact output those commands give, in order.
//
// Commands (a session is named by its resource, a registration by its
// node at push.example.net; times are seconds):
//
//	at SEC                      the clock for the following commands
//	open S | close S | resume S
//	enable S REG [evict=REG,..] REG stored (a new generation) and S bound to it
//	remove REG...               REGs no longer stored
//	delete                      the user was deleted
//	sync REG...                 what is stored now (other registrations gone)
//	hibernate S STANZA...       S hibernates with this queue
//	queue S STANZA...           stanzas queued (or acks overdue) for S
//	flush S SEC                 the timer armed for S at SEC fires
//	fanout [skipbound] STANZA REG...   the archive/offline path over REGs
//	ping REG...
//	config [wakebefore=SEC] [clear] [repeat=SEC] [max=N]   set Rules.WakeBefore,
//	                            ClearOnRead, RepeatAfter, MaxRepeats
//	wake SEC                    the user's wake timer armed for SEC fires
//	read S REG...               the user read on S; REGs are stored
//	restart REG...              the host restarted; REGs are stored
//
// A stanza is KIND:NAME with KIND one of chat, state, presence, call or
// enc; the NAME is its identity (the same name, the same stanza) and a
// chat's body. Output lines:
//
//	publish REG important|unimportant body=TEXT
//	timeout S DURATION
//	due S SEC arm|hint
//	error TEXT
func TestDataDriven(t *testing.T) {
	files, err := filepath.Glob("testdata/*.txt")
	if err != nil || len(files) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) { runScript(t, file) })
	}
}

const ddUser = "juliet@example.org"

type script struct {
	rules Rules
	user  User
	now   time.Time
	gens  map[string]uint64 // generation of each registration now stored
	next  uint64
	// counts adds up the Out.Counts of every command applied.
	counts [NumReasons]uint32
}

func runScript(t *testing.T, file string) {
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	s := newScript()
	sc := bufio.NewScanner(f)
	line := 0
	var cmds, want []string
	var cmdLine int
	inWant := false
	flush := func() {
		if len(cmds) == 0 {
			return
		}
		var got []string
		for _, c := range cmds {
			got = append(got, s.apply(c)...)
		}
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("%s:%d: %s\ngot:\n  %s\nwant:\n  %s", file, cmdLine, strings.Join(cmds, "; "),
				strings.Join(got, "\n  "), strings.Join(want, "\n  "))
		}
		cmds, want, inWant = nil, nil, false
	}
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(text, "#"):
		case text == "":
			flush()
		case text == "----":
			inWant = true
		case inWant:
			want = append(want, text)
		default:
			if len(cmds) == 0 {
				cmdLine = line
			}
			cmds = append(cmds, text)
		}
	}
	flush()
}

func newScript() *script {
	s := &script{rules: Rules{ImportantBody: "New Message!", HibernationTimeout: 10 * time.Minute,
		MaxHibernationTimeout: 72 * time.Hour, BatchWindow: time.Second, DedupWindow: 73 * time.Hour,
		MarksPerUser: 64, MaxSessions: 8}, now: t0, gens: map[string]uint64{}}
	s.rules.Init(&s.user)
	return s
}

func session(name string) string { return ddUser + "/" + name }

func (s *script) reg(node string) registry.Registration {
	return registry.Registration{User: ddUser, ID: registry.NewIdentifier("push.example.net", node), Generation: s.gens[node]}
}

func (s *script) regs(nodes []string) []registry.Registration {
	out := make([]registry.Registration, len(nodes))
	for i, n := range nodes {
		out[i] = s.reg(n)
	}
	return out
}

func stanza(tok string) events.Stanza {
	kind, name, _ := strings.Cut(tok, ":")
	st := events.Stanza{Key: events.KeyOf(name), Kind: events.KindMessage, Type: "chat"}
	switch kind {
	case "chat":
		st.Body, st.HasBody = name, true
	case "state":
	case "presence":
		st.Kind, st.Type = events.KindPresence, ""
	case "call":
		st.CallProposal = true
	case "enc":
		st.Encrypted = true
	default:
		panic("unknown stanza kind " + kind)
	}
	return st
}

func stanzas(toks []string) []events.Stanza {
	out := make([]events.Stanza, len(toks))
	for i, tok := range toks {
		out[i] = stanza(tok)
	}
	return out
}

func (s *script) apply(cmd string) []string {
	f := strings.Fields(cmd)
	var out Out
	var err error
	switch f[0] {
	case "at":
		sec, _ := strconv.ParseFloat(f[1], 64)
		s.now = t0.Add(time.Duration(sec * float64(time.Second)))
	case "open":
		err = s.rules.Open(&s.user, session(f[1]), &out)
	case "close":
		s.rules.Close(&s.user, session(f[1]), &out)
	case "resume":
		s.rules.Resume(&s.user, session(f[1]), &out)
	case "enable":
		if _, ok := s.gens[f[2]]; !ok {
			s.next++
			s.gens[f[2]] = s.next
		}
		var evicted []registry.Registration
		if len(f) > 3 {
			for _, n := range strings.Split(strings.TrimPrefix(f[3], "evict="), ",") {
				evicted = append(evicted, s.reg(n))
				delete(s.gens, n)
			}
		}
		err = s.rules.Enabled(s.now, &s.user, session(f[1]), s.reg(f[2]), evicted, &out)
	case "remove":
		removed := s.regs(f[1:])
		for _, n := range f[1:] {
			delete(s.gens, n)
		}
		s.rules.Removed(s.now, &s.user, removed, &out)
	case "delete":
		s.rules.Deleted(s.now, &s.user, &out)
	case "sync":
		stored := s.regs(f[1:])
		for n := range s.gens {
			if !strings.Contains(" "+strings.Join(f[1:], " ")+" ", " "+n+" ") {
				delete(s.gens, n)
			}
		}
		s.rules.Sync(s.now, &s.user, stored, &out)
	case "hibernate":
		err = s.rules.Hibernate(s.now, &s.user, session(f[1]), stanzas(f[2:]), &out)
	case "queue":
		s.rules.Queue(s.now, &s.user, session(f[1]), stanzas(f[2:]), &out)
	case "flush":
		sec, _ := strconv.ParseFloat(f[2], 64)
		if ses := s.user.Session(session(f[1])); ses != nil {
			s.rules.Flush(s.now, &s.user, ses, t0.Add(time.Duration(sec*float64(time.Second))), &out)
		}
	case "fanout":
		skip := f[1] == "skipbound"
		if skip {
			f = f[1:]
		}
		st := stanza(f[1])
		s.rules.Fanout(s.now, &s.user, s.regs(f[2:]), &st, skip, &out)
	case "ping":
		s.rules.Ping(s.now, s.regs(f[1:]), nil, &out)
	case "config":
		for _, kv := range f[1:] {
			k, v, _ := strings.Cut(kv, "=")
			switch k {
			case "wakebefore":
				sec, _ := strconv.ParseFloat(v, 64)
				s.rules.WakeBefore = time.Duration(sec * float64(time.Second))
			case "clear":
				s.rules.ClearOnRead = true
			case "repeat":
				sec, _ := strconv.ParseFloat(v, 64)
				s.rules.RepeatAfter = time.Duration(sec * float64(time.Second))
			case "max":
				s.rules.MaxRepeats, _ = strconv.Atoi(v)
			}
		}
	case "wake":
		sec, _ := strconv.ParseFloat(f[1], 64)
		if s.user.wk != nil {
			s.rules.Flush(s.now, &s.user, &s.user.wk.timer, t0.Add(time.Duration(sec*float64(time.Second))), &out)
		}
	case "read":
		if !s.rules.Read(s.now, &s.user, session(f[1]), s.regs(f[2:]), &out) {
			return []string{"unknown session"}
		}
	case "restart":
		s.rules.Restart(s.now, s.regs(f[1:]), nil, &out)
	default:
		return []string{"error unknown command " + f[0]}
	}
	for r, n := range out.Counts {
		s.counts[r] += n
	}
	var lines []string
	if err != nil {
		lines = append(lines, "error "+err.Error())
	}
	for _, t := range out.Timeouts {
		lines = append(lines, fmt.Sprintf("timeout %s %v", strings.TrimPrefix(t.Session, ddUser+"/"), t.Duration))
	}
	for _, p := range out.Publishes {
		class := "unimportant"
		if p.Important {
			class = "important"
		}
		lines = append(lines, fmt.Sprintf("publish %s %s body=%s", p.Registration.Node(), class, p.Body))
	}
	for _, d := range out.Due {
		mode := "hint"
		if d.Arm {
			mode = "arm"
		}
		lines = append(lines, fmt.Sprintf("due %s %v %s", strings.TrimPrefix(d.Session.JID, ddUser+"/"), d.At.Sub(t0).Seconds(), mode))
	}
	return lines
}
