module github.com/marathon-operator/marathon-operator/tests/clients/go

go 1.21

require github.com/gambol99/go-marathon v0.7.2-0.20200116143022-94e7bcb625cd

require (
	github.com/donovanhide/eventsource v0.0.0-20210830082556-c59027999da0 // indirect
	github.com/google/go-querystring v1.2.0 // indirect
	github.com/stretchr/testify v1.12.1 // indirect
	gopkg.in/yaml.v2 v2.4.0 // indirect
)
