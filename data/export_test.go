package data

// LegacyMatches checks a legacy hash without CheckPassword's bcrypt cost,
// so that a test can check thousands of generated users.
var LegacyMatches = checkLegacy
