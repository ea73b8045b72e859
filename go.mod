module github.com/pushrules/pushrules

go 1.26

require (
	github.com/google/go-cmp v0.7.0
	golang.org/x/net v0.58.0
	golang.org/x/text v0.41.0
)

require (
	github.com/stretchr/testify v1.12.1
	go.yaml.in/yaml/v3 v3.0.5 // indirect
)
