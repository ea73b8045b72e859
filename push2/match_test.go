package push2

import (
	"testing"

	"github.com/pushrules/pushrules/events"
)

func TestMatches(t *testing.T) {
	chat := &events.Stanza{Kind: events.KindMessage, Type: "chat", From: "Juliet@Example.com/balcony", Body: "hi", HasBody: true}
	groupchat := &events.Stanza{Kind: events.KindMessage, Type: "groupchat", From: "room@muc.example/nurse", Body: "hi all", HasBody: true}
	call := &events.Stanza{Kind: events.KindMessage, From: "romeo@example.net/phone", CallProposal: true}
	receipt := &events.Stanza{Kind: events.KindMessage, Type: "chat", From: "romeo@example.net/phone"}
	emptyBody := &events.Stanza{Kind: events.KindMessage, Type: "chat", From: "romeo@example.net/phone", HasBody: true}
	presence := &events.Stanza{Kind: events.KindPresence, From: "romeo@example.net/phone"}

	roomFilter := []Filter{{JID: "room@muc.example", Mention: true}}
	tests := []struct {
		name    string
		profile MatchProfile
		filters []Filter
		st      *events.Stanza
		facts   Facts
		want    bool
	}{
		{"all: presence", MatchAll, nil, presence, Facts{}, true},
		{"important: chat", MatchImportant, nil, chat, Facts{}, true},
		{"important: call", MatchImportant, nil, call, Facts{}, true},
		{"important: receipt", MatchImportant, nil, receipt, Facts{}, false},
		{"important: call retracted", MatchImportant, nil, receipt, Facts{CallRetraction: true}, true},
		{"important: presence", MatchImportant, nil, presence, Facts{}, false},
		{"archived: not archived", MatchArchived, nil, chat, Facts{}, false},
		{"archived: archived receipt", MatchArchived, nil, receipt, Facts{Archived: true}, true},
		{"archived-with-body: receipt", MatchArchivedWithBody, nil, receipt, Facts{Archived: true}, false},
		{"archived-with-body: empty body", MatchArchivedWithBody, nil, emptyBody, Facts{Archived: true}, true},
		{"archived-with-body: not archived", MatchArchivedWithBody, nil, chat, Facts{}, false},
		{"archived-with-body: chat", MatchArchivedWithBody, nil, chat, Facts{Archived: true}, true},
		{"zero profile", 0, nil, chat, Facts{}, false},
		{"all: nil stanza", MatchAll, nil, nil, Facts{}, true},
		{"important: nil stanza", MatchImportant, nil, nil, Facts{}, false},
		{"filtered: nil stanza", MatchAll, roomFilter, nil, Facts{}, true},

		{"filter of another chat", MatchAll, roomFilter, chat, Facts{}, true},
		{"muted room", MatchAll, roomFilter, groupchat, Facts{}, false},
		{"muted room, reply not listened for", MatchAll, roomFilter, groupchat, Facts{Reply: true}, false},
		{"room mention", MatchAll, roomFilter, groupchat, Facts{Mentioned: true}, true},
		{"room reply", MatchAll, []Filter{{JID: "room@muc.example", Reply: true}}, groupchat, Facts{Reply: true}, true},
		{"profile first", MatchImportant, roomFilter, receipt, Facts{Mentioned: true}, false},
		{"bare filter, case-folded", MatchAll, []Filter{{JID: "juliet@EXAMPLE.com"}}, chat, Facts{}, false},
		{"domain filter", MatchAll, []Filter{{JID: "muc.example"}}, groupchat, Facts{}, false},
		{"full JID before bare", MatchAll, []Filter{{JID: "room@muc.example"}, {JID: "room@muc.example/nurse", Mention: true}}, groupchat, Facts{Mentioned: true}, true},
		{"bare before domain", MatchAll, []Filter{{JID: "muc.example", Mention: true}, {JID: "room@muc.example"}}, groupchat, Facts{Mentioned: true}, false},
		{"other resource not filtered", MatchAll, []Filter{{JID: "room@muc.example/other"}}, groupchat, Facts{}, true},
		{"resource compared exactly", MatchAll, []Filter{{JID: "room@muc.example/Nurse"}}, groupchat, Facts{}, true},
	}
	for _, tc := range tests {
		m := Match{Profile: tc.profile, Filters: tc.filters}
		if got := m.Matches(tc.st, tc.facts); got != tc.want {
			t.Errorf("%s: Matches = %v, want %v", tc.name, got, tc.want)
		}
	}
}
