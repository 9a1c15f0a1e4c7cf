module github.com/voicecert/voicecert

go 1.26

require (
	github.com/golang-jwt/jwt/v5 v5.3.1
	github.com/google/go-cmp v0.7.0
	github.com/jarcoal/httpmock v1.4.2
)
