module github.com/pushrules/pushrules

go 1.26
