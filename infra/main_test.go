package main

import (
	"testing"

	"github.com/aws/aws-cdk-go/awscdk/v2"
)

func appWith(ctx map[string]any) awscdk.App {
	return awscdk.NewApp(&awscdk.AppProps{Context: &ctx})
}

// Context values arrive as strings from -c key=value.
func TestContextValuesReachTheProps(t *testing.T) {
	_, none := propsFromContext(appWith(map[string]any{}))
	if none.API.MemoryMB != 0 || none.Stream.MemoryMB != 0 || none.Bedrock ||
		none.API.ReservedConcurrency != 0 || none.Stream.ReservedConcurrency != 0 {
		t.Errorf("without context: %+v %+v bedrock=%v, want the stack's defaults", none.API, none.Stream, none.Bedrock)
	}
	_, both := propsFromContext(appWith(map[string]any{"memoryMB": "512"}))
	if both.API.MemoryMB != 512 || both.Stream.MemoryMB != 512 {
		t.Errorf("memoryMB=512: api %v, stream %v", both.API.MemoryMB, both.Stream.MemoryMB)
	}
	_, p := propsFromContext(appWith(map[string]any{
		"memoryMB": "512", "streamMemoryMB": "1024", "apiReservedConcurrency": "3",
		"streamReservedConcurrency": "10", "bedrock": "true",
		"alarmEmail": "ops@example.com", "alarmTopicArn": "arn:aws:sns:eu-west-1:123456789012:t",
		"durationTimeoutPercent": "80",
	}))
	if m := p.Monitoring; m.AlarmEmail != "ops@example.com" || m.AlarmTopicARN != "arn:aws:sns:eu-west-1:123456789012:t" ||
		m.DurationTimeoutPercent != 80 {
		t.Errorf("monitoring context: %+v", m)
	}
	if p.API.MemoryMB != 512 || p.Stream.MemoryMB != 1024 {
		t.Errorf("memory: api %v, stream %v, want 512 and 1024", p.API.MemoryMB, p.Stream.MemoryMB)
	}
	if p.API.ReservedConcurrency != 3 || p.Stream.ReservedConcurrency != 10 {
		t.Errorf("reserved concurrency: api %v, stream %v", p.API.ReservedConcurrency, p.Stream.ReservedConcurrency)
	}
	if !p.Bedrock {
		t.Error("bedrock=true did not turn Bedrock on")
	}
	if none.OpenAccess {
		t.Error("without context the stack serves without keys")
	}
	if _, open := propsFromContext(appWith(map[string]any{"openAccess": "true"})); !open.OpenAccess {
		t.Error("openAccess=true did not reach the props")
	}
}

// The front doors from the context: the REST API and the Function URL on,
// the HTTP API off, unless told otherwise.
func TestFrontDoorContextValuesReachTheProps(t *testing.T) {
	_, none := propsFromContext(appWith(map[string]any{}))
	if none.REST.Disable || none.NoFunctionURL || none.HTTPAPI || none.REST.NoCloudWatchRole {
		t.Errorf("without context: REST %+v, no URL %v, HTTP API %v; want REST and URL, no HTTP API",
			none.REST, none.NoFunctionURL, none.HTTPAPI)
	}
	_, p := propsFromContext(appWith(map[string]any{
		"httpApi": "true", "functionUrl": "false", "restApiRateLimit": "25", "restApiBurstLimit": "50",
		"domainName": testDomain, "certificateArn": testCertificate, "webAclArn": testWebACL,
		"restApiCloudWatchRole": "false",
	}))
	want := RESTAPIProps{RateLimit: 25, BurstLimit: 50, DomainName: testDomain, CertificateARN: testCertificate,
		WebACLARN: testWebACL, NoCloudWatchRole: true}
	if p.REST != want || !p.NoFunctionURL || !p.HTTPAPI {
		t.Errorf("REST %+v (want %+v), no URL %v, HTTP API %v", p.REST, want, p.NoFunctionURL, p.HTTPAPI)
	}
	if _, off := propsFromContext(appWith(map[string]any{"restApi": "false"})); !off.REST.Disable {
		t.Error("restApi=false did not turn the REST API off")
	}
}
