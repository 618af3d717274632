import Foundation
/// A proleptic Gregorian calendar date (no time zone: the sources hold UTC days).
public struct CivilDate: Hashable, Comparable, Sendable {
    public var year, month, day: Int

    public init(year: Int, month: Int, day: Int) {
        self.year = year
        self.month = month
        self.day = day
    }

    public init(key: Int32) {
        self.init(year: Int(key / 10000), month: Int(key / 100 % 100), day: Int(key % 100))
    }

    /// From days since 1970-01-01 (H. Hinnant's `civil_from_days`).
    public init(daysSinceEpoch: Int) {
        let z = daysSinceEpoch + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let doe = z - era * 146_097
        let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100)
        let mp = (5 * doy + 2) / 153
        day = doy - (153 * mp + 2) / 5 + 1
        month = mp < 10 ? mp + 3 : mp - 9
        year = yoe + era * 400 + (month <= 2 ? 1 : 0)
    }

    /// Days since 1970-01-01 (H. Hinnant's `days_from_civil`).
    public var daysSinceEpoch: Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yoe = y - era * 400
        let mp = month > 2 ? month - 3 : month + 9
        let doy = (153 * mp + 2) / 5 + day - 1
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy
        return era * 146_097 + doe - 719_468
    }

    public var key: Int32 { Int32(year * 10000 + month * 100 + day) }

    /// ISO 8601 weekday: Monday = 1 … Sunday = 7 (1970-01-01 was a Thursday).
    public var isoWeekday: Int { ((daysSinceEpoch % 7 + 7) % 7 + 3) % 7 + 1 }

    /// YYYY-MM-DD (years 1000…9999).
    public var iso: String {
        let digits: [UInt8] = [UInt8(year / 1000 % 10), UInt8(year / 100 % 10), UInt8(year / 10 % 10), UInt8(year % 10), 0xFD,
                               UInt8(month / 10), UInt8(month % 10), 0xFD, UInt8(day / 10), UInt8(day % 10)]
        // 0xFD + 0x30 wraps to 0x2D, the hyphen.
        return String(decoding: digits.map { $0 &+ 0x30 }, as: UTF8.self)
    }

    public static func daysInMonth(year: Int, month: Int) -> Int {
        switch month {
        case 2: return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: return 30
        default: return 31
        }
    }

    /// Today in UTC.
    public static var today: CivilDate { CivilDate(daysSinceEpoch: Int(Date().timeIntervalSince1970 / 86_400)) }

    public static func < (a: CivilDate, b: CivilDate) -> Bool { a.daysSinceEpoch < b.daysSinceEpoch }
}
