import Foundation
import Testing

@testable import PipelineCommon

@Suite("HTTP and ISO 8601 timestamps")
struct HTTPDateTests {
    @Test func parsesWhatFoundationsFormattersParse() {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "GMT")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss zzz"
        let iso = ISO8601DateFormatter()
        iso.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        // A spread of instants from 1970 to 2100, leap days included.
        for seconds in stride(from: 0.0, to: 4_102_444_800, by: 7_777_777.25) {
            let date = Date(timeIntervalSince1970: seconds.rounded(.down))
            #expect(HTTPDate.parse(formatter.string(from: date)) == date)
            let fractional = Date(timeIntervalSince1970: seconds)
            let parsed = HTTPDate.parseISO8601(iso.string(from: fractional))
            #expect(abs((parsed?.timeIntervalSince1970 ?? -1) - seconds) < 0.001)
        }
        #expect(HTTPDate.parse("Tue, 29 Feb 2028 23:59:59 GMT") == Date(timeIntervalSince1970: 1_835_481_599))
        #expect(HTTPDate.parseISO8601("2026-11-22T03:04:05Z") == Date(timeIntervalSince1970: 1_795_316_645))
        for bad in ["", "soon", "Sun, 22 Nox 2026 03:04:05 GMT", "Sun, 22 Nov 2026 03:04 GMT", "2026-13-01T00:00:00Z"] {
            #expect(HTTPDate.parse(bad) == nil && HTTPDate.parseISO8601(bad) == nil, "\(bad)")
        }
    }
}
