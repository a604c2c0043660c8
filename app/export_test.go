package app

// Exported for the fuzz tests of package app_test.
var (
	ValidSessionID = validSessionID
	LocalPath      = localPath
)
