module github.com/pushrules/pushrules

go 1.26

require (
	golang.org/x/net v0.58.0
	golang.org/x/text v0.41.0
)
